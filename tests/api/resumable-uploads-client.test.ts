// tus-js-client (the reference client) against two api replicas, through a front that stands in for the
// edge: a 64 MiB file in 8 MiB chunks whose requests the replicas take in turn, and one chunk sent to
// both at once (the Redis lock). The video appears exactly once and its source is, byte for byte, the
// file sent. The 1 GiB upload cut at 5 random offsets and across an api restart is
// resumable-uploads-gib.test.ts.
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
// Retries, spaced: on a busy machine a request may fail and the client must carry on.
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
async function uploadThroughFront(title: string): Promise<string> {
  const { url } = await tusClientUpload(file, {
    endpoint: `${front.url}/api/uploads/`,
    chunkSize: CHUNK_BYTES,
    retryDelays: RETRY_DELAYS,
    headers: sessionHeaders(admin),
    metadata: { title, category: "Resumable", filename: "film.mp4" },
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
  test("two replicas taking the requests in turn: one video, the same bytes", async () => {
    front.route([owner.url, replica.url]);
    front.served.clear();
    const url = await uploadThroughFront("Two replicas");
    expect(front.served.get(owner.url)).toBeGreaterThan(2);
    expect(front.served.get(replica.url)).toBeGreaterThan(2);
    await expectOneVideo(url, "Two replicas");
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
