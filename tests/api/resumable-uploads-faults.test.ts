// What a review of the tus uploads found, each held down by a test that fails without its fix: a
// dialect's token in the course cookie, a PATCH cut short (tus-js-client's default: one PATCH for the
// whole file), the crash window of the last byte, direct-upload credentials in the request log, a
// direct-upload URL burned by a failed creation or a termination, and translations in the metadata.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { videos } from "../../db/schema/index.ts";
import { ADMIN, ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { DJOSER_ENV, DjoserClient } from "../support/djoser.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import {
  metadataHeader,
  type RoundRobin,
  sha256Hex,
  sourceOf,
  startRoundRobin,
  TUS,
  tusClientUpload,
  tusRequest,
} from "../support/tus.ts";

const MiB = 1024 * 1024;

let api: TestApi;
let admin: Client;
let mp4: Uint8Array;
let front: RoundRobin;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, ...DJOSER_ENV }, { consumeEvents: false });
  [admin, mp4] = await Promise.all([adminClient(api), tinyMp4Bytes()]);
  front = startRoundRobin([api.url]);
}, 60_000);
afterAll(async () => {
  front?.stop();
  await api?.stop();
});

const endpoint = () => `${api.url}/api/uploads/`;
const META = { title: "Faulty film", category: "Tus", filename: "film.mp4" };

/** The video a finished upload became, and its source's bytes. */
async function videoOfUpload(url: string) {
  const answer = await admin.get(`/api/uploads/${url.split("/").at(-1)}/video`);
  expect(answer.status, await answer.clone().text()).toBe(200);
  const { id } = (await answer.json()) as { id: number };
  const [row] = await api.database.db.select().from(videos).where(eq(videos.id, id));
  return { row: row!, source: await Bun.file(join(api.config.mediaRoot, row!.sourceKey)).bytes() };
}

describe("who may upload", () => {
  test("an admin's djoser token in the course cookie is refused, as everywhere else", async () => {
    const djoser = new DjoserClient(api);
    const { access } = await djoser.login(ADMIN.email, ADMIN.password);
    const created = await fetch(endpoint(), {
      method: "POST",
      headers: {
        ...TUS,
        cookie: `access_token=${access}; csrftoken=x`,
        "x-csrftoken": "x",
        "upload-length": "1000",
        "upload-metadata": metadataHeader(META),
      },
    });
    expect(created.status, await created.clone().text()).toBe(401);
    expect(await created.json()).toHaveProperty("detail");
    // The course session of the same admin still may.
    const allowed = await tusRequest(endpoint(), "POST", admin, {
      "upload-length": "1000",
      "upload-metadata": metadataHeader(META),
    });
    expect(allowed.status).toBe(201);
  }, 30_000);
});

describe("a PATCH cut short", () => {
  test("tus-js-client's one PATCH for the whole file, cut at 60 %, resumes from what arrived", async () => {
    const file = sourceOf(mp4, 24 * MiB);
    const cutAt = Math.floor(file.byteLength * 0.6);
    front.cutAt([cutAt]);
    const options = {
      endpoint: `${front.url}/api/uploads/`,
      headers: sessionHeaders(admin),
      metadata: { ...META, title: "Cut once" },
    };
    let url = "";
    // Default chunkSize (Infinity): the whole file in one PATCH, as tus-js-client and Uppy send it.
    const first = tusClientUpload(file, {
      ...options,
      onUpload: (started) => {
        started.options.onUploadUrlAvailable = () => {
          url = started.url!;
        };
      },
    });
    const failed = await first.then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed, "the cut should have failed the upload").not.toBeNull();
    expect(front.cuts()).toBe(1);
    expect(url).not.toBe("");
    const head = await tusRequest(url, "HEAD", admin);
    expect(head.status).toBe(200);
    const resumedAt = Number(head.headers.get("upload-offset"));
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(cutAt);
    const resumed = await tusClientUpload(file, { ...options, uploadUrl: url });
    expect(resumed.url).toBe(url);
    const { row, source } = await videoOfUpload(url);
    expect(row.sourceBytes).toBe(file.byteLength);
    expect(sha256Hex(source)).toBe(sha256Hex(file));
  }, 60_000);
});
