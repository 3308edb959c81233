// tus-js-client (the reference client) against the api, through a test-made front that cuts connections
// at chosen offsets and is re-pointed at a restarted replica (nginx does neither on cue): a 64 MiB file
// in 8 MiB chunks (the 1 GiB run is bench:upload's) whose connection is cut at 5 random offsets, and an
// api replica restarted mid-upload. Each time the video appears exactly once and its source is, byte
// for byte, the file sent. Two replicas taking the chunks in turn behind the real edge:
// tests/e2e/edge-uploads-replicas.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { videos } from "../../db/schema/index.ts";
import { ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import {
  metadataHeader,
  patchHeaders,
  type RoundRobin,
  sha256Hex,
  sourceOf,
  startRoundRobin,
  tusClientUpload,
  tusRequest,
} from "../support/tus.ts";

const MiB = 1024 * 1024;
const FILE_BYTES = 64 * MiB;
const CHUNK_BYTES = 8 * MiB;
// Enough tries, spaced enough, to outlast a replica's restart.
const RETRY_DELAYS = [0, 200, 500, 1000, 2000, 3000, 5000, 5000, 5000];

let owner: TestApi;
let replica: TestApi;
let admin: Client;
let front: RoundRobin;
let file: Uint8Array;
let fileSha: string;

beforeAll(async () => {
  owner = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false });
  replica = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false, shareWith: owner });
  admin = await adminClient(owner);
  file = sourceOf(await tinyMp4Bytes(), FILE_BYTES);
  fileSha = sha256Hex(file);
  front = startRoundRobin([owner.url]);
}, 60_000);
afterAll(async () => {
  front?.stop();
  await replica?.stop();
  await owner?.stop();
});

/** Uploads the file with tus-js-client through the front; `onProgress` may disturb it. */
async function uploadThroughFront(title: string, onProgress?: (sent: number) => void): Promise<string> {
  const { url } = await tusClientUpload(file, {
    endpoint: `${front.url}/api/uploads/`,
    chunkSize: CHUNK_BYTES,
    retryDelays: RETRY_DELAYS,
    headers: sessionHeaders(admin),
    metadata: { title, category: "Resumable", filename: "film.mp4" },
    onProgress,
  });
  return url;
}

/** The one video the upload became, with its source checked against the file sent. */
async function expectOneVideo(url: string, title: string, api: TestApi = owner): Promise<number> {
  const uploadId = url.split("/").at(-1)!;
  const answer = await admin.get(`/api/uploads/${uploadId}/video`);
  expect(answer.status).toBe(200);
  const { id } = (await answer.json()) as { id: number };
  const rows = await api.database.db.select().from(videos).where(eq(videos.title, title));
  expect(rows.map((row) => row.id)).toEqual([id]);
  expect(rows[0]!.processingState).toBe("pending");
  expect(rows[0]!.sourceBytes).toBe(FILE_BYTES);
  const source = await Bun.file(join(api.config.mediaRoot, rows[0]!.sourceKey)).bytes();
  expect(sha256Hex(source)).toBe(fileSha);
  return id;
}

describe("tus-js-client, 64 MiB in 8 MiB chunks", () => {
  test("the connection cut at 5 random offsets: it resumes each time, one video, the same bytes", async () => {
    front.route([owner.url]);
    const offsets = Array.from({ length: 5 }, () => Math.floor(Math.random() * (FILE_BYTES - 1)) + 1);
    front.cutAt(offsets);
    const url = await uploadThroughFront("Cut five times");
    expect(front.cuts()).toBe(5);
    await expectOneVideo(url, "Cut five times");
  }, 180_000);

  test("an api replica restarted mid-upload: the upload resumes on the new one", async () => {
    let restarted: TestApi | null = null;
    let restart: Promise<void> | null = null;
    const first = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false, shareWith: owner });
    front.route([first.url]);
    try {
      const url = await uploadThroughFront("Across a restart", (sent) => {
        if (restart || sent < FILE_BYTES / 3) return;
        restart = (async () => {
          await first.stop();
          restarted = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false, shareWith: owner });
          front.route([restarted.url]);
        })();
      });
      expect(restart).not.toBeNull();
      await restart;
      expect(front.served.get((restarted as TestApi | null)!.url)).toBeGreaterThan(0);
      await expectOneVideo(url, "Across a restart");
    } finally {
      await restart;
      await (restarted as TestApi | null)?.stop();
    }
  }, 180_000);
});

describe("the Redis lock", () => {
  test("the same chunk sent to two replicas at once: one of them stores it, once", async () => {
    const created = await tusRequest(`${owner.url}/api/uploads/`, "POST", admin, {
      "upload-length": String(FILE_BYTES),
      "upload-metadata": metadataHeader({ title: "Raced", category: "Resumable" }),
    });
    const path = created.headers.get("location")!;
    const chunk = file.subarray(0, CHUNK_BYTES);
    const answers = await Promise.all(
      [owner, replica].map((api) => tusRequest(`${api.url}${path}`, "PATCH", admin, patchHeaders(0), chunk)),
    );
    expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
    for (const api of [owner, replica]) {
      const head = await tusRequest(`${api.url}${path}`, "HEAD", admin);
      expect(head.headers.get("upload-offset")).toBe(String(CHUNK_BYTES));
    }
  }, 60_000);
});
