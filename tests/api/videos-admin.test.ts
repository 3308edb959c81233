// The admin video routes end to end on the real runtime: PostgreSQL, Redis + BullMQ, the local media
// volume. No state events are consumed here (consumeEvents: false): video-state.test.ts covers those.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { TranscodeResult } from "../../contract/media.ts";
import type { TranscodeJob } from "../../contract/transcode-jobs.ts";
import { categories, videos } from "../../db/schema/index.ts";
import {
  ADMIN_ENV,
  type AdminVideo,
  adminClient,
  createVideo,
  getVideo,
  replaceFile,
  sendAs,
  upload,
  uploadForm,
} from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { entriesOf } from "../support/media-root.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { bullConnection, transcodeQueue } from "../support/transcoder.ts";

const SMALL_LIMIT = 100_000;

let api: TestApi;
/** A second replica on the same database, Redis and media root, with MAX_UPLOAD_BYTES=100000. */
let small: TestApi;
let admin: Client;
let connection: Redis;
let queue: Queue<TranscodeJob, TranscodeResult>;
let mp4: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV, { consumeEvents: false });
  [small, admin, mp4] = await Promise.all([
    startTestApi({ MAX_UPLOAD_BYTES: String(SMALL_LIMIT) }, { consumeEvents: false, shareWith: api }),
    adminClient(api),
    tinyMp4Bytes(),
  ]);
  connection = bullConnection(api);
  queue = transcodeQueue(connection);
});

afterAll(async () => {
  await queue?.close();
  connection?.disconnect();
  await small?.stop();
  await api?.stop();
});

const media = (...parts: string[]) => join(api.config.mediaRoot, ...parts);

/** Nothing of a refused upload may stay behind: no source, no staging leftovers. */
function expectNoLeftovers(sourcesBefore: string[]) {
  expect(entriesOf(media("sources"))).toEqual(sourcesBefore);
  expect(entriesOf(media(".staging"))).toEqual([]);
}

/** `bytes` long, starting with the real MP4's head so that it passes the container sniffing. */
function mp4Padded(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out.set(mp4.subarray(0, Math.min(mp4.byteLength, bytes)));
  return out;
}

async function waitingJob(id: number, revision: number) {
  const job = await queue.getJob(`video-${id}-r${revision}`);
  expect(job, `job video-${id}-r${revision}`).toBeDefined();
  expect(await job!.getState()).toBe("waiting");
  return job!;
}

describe("access", () => {
  let user: Client;
  let existing: AdminVideo;

  beforeAll(async () => {
    [user, existing] = await Promise.all([loggedInClient(api), createVideo(api, admin)]);
  });

  /** Every admin route with a request that would succeed for an admin. */
  const routes = (): Array<{ name: string; send: (client: Client | null) => Promise<Response> }> => [
    { name: "POST upload", send: (c) => upload(api, c, { title: "t", category: "c", file: mp4 }) },
    { name: "GET list", send: (c) => sendAs(api, c, "GET", "/api/admin/videos") },
    { name: "GET one", send: (c) => sendAs(api, c, "GET", `/api/admin/videos/${existing.id}`) },
    {
      name: "PATCH",
      send: (c) =>
        sendAs(api, c, "PATCH", `/api/admin/videos/${existing.id}`, {
          body: JSON.stringify({ title: "hijacked" }),
          headers: { "content-type": "application/json" },
        }),
    },
    { name: "PUT file", send: (c) => replaceFile(api, c, existing.id, mp4) },
    { name: "POST retry", send: (c) => sendAs(api, c, "POST", `/api/admin/videos/${existing.id}/retry`) },
    { name: "DELETE", send: (c) => sendAs(api, c, "DELETE", `/api/admin/videos/${existing.id}`) },
    { name: "GET bull-board", send: (c) => sendAs(api, c, "GET", "/admin/queues") },
    { name: "GET bull-board api", send: (c) => sendAs(api, c, "GET", "/admin/queues/api/queues") },
  ];

  test("every admin route answers 401 without a session and 403 for a normal user, storing nothing", async () => {
    const sourcesBefore = entriesOf(media("sources"));
    for (const route of routes()) {
      const anonymous = await route.send(null);
      expect(anonymous.status, `${route.name} signed out`).toBe(401);
      await expectError(anonymous, 401);
      const normal = await route.send(user);
      expect(normal.status, `${route.name} as a normal user`).toBe(403);
      await expectError(normal, 403);
    }
    expectNoLeftovers(sourcesBefore);
    // The video is untouched: same title, revision 1, its job still waiting.
    const after = await getVideo(admin, existing.id);
    expect(after).toMatchObject({ title: existing.title, revision: 1, processing_state: "pending" });
    await waitingJob(existing.id, 1);
  });

  test("admins get the bull-board dashboard as HTML and its API as JSON", async () => {
    const page = await sendAs(api, admin, "GET", "/admin/queues");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const html = await page.text();
    expect(html).toContain("<html");
    // The package's page without its Google Fonts stylesheet (api/queues/dashboard-view.ts), its own
    // stylesheet and scripts kept.
    expect(html).not.toContain("fonts.googleapis.com");
    expect(html).toMatch(/<link href="static\/css\/main\.[0-9a-f]+\.css" rel="stylesheet">/);
    expect(html).toContain('<script defer src="static/js/main.');
    const state = await sendAs(api, admin, "GET", "/admin/queues/api/queues");
    expect(state.status).toBe(200);
    const body = (await state.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual(["transcode", "video-events"]);
  });
});

describe("upload", () => {
  test("POST answers 202 with the documented shape, stores the source and enqueues revision 1", async () => {
    const before = Date.now();
    const response = await upload(api, admin, {
      title: "  Big Buck Bunny ",
      description: "A giant rabbit takes revenge.",
      category: "Animation",
      file: mp4,
      filename: "bunny.MP4",
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("content-type")).toStartWith("application/json");
    const video = (await response.json()) as AdminVideo;
    expect(video).toEqual({
      id: expect.any(Number),
      title: "Big Buck Bunny",
      description: "A giant rabbit takes revenge.",
      translations: {},
      category: "Animation",
      created_at: expect.any(String),
      revision: 1,
      processing_state: "pending",
      processing_error: null,
      playable: false,
      playable_at: null,
      progress: { percent: 0, stage: "queued", eta_seconds: null },
      duration_seconds: null,
      renditions: [],
      thumbnail_url: null,
      published_revision: null,
      posters: [],
      storyboard_url: null,
    });
    expect(new Date(video.created_at).toISOString()).toBe(video.created_at);
    expect(Date.parse(video.created_at)).toBeGreaterThanOrEqual(before - 5000);

    const [row] = await api.database.db.select().from(videos).where(sql`${videos.id} = ${video.id}`);
    expect(row!.sourceKey).toMatch(/^sources\/[0-9a-f-]{36}\.mp4$/);
    expect(row!.sourceBytes).toBe(mp4.byteLength);
    const stored = Bun.file(media(row!.sourceKey));
    expect(await stored.exists()).toBe(true);
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(mp4);

    const job = await waitingJob(video.id, 1);
    expect(job.data).toEqual({
      videoId: video.id,
      revision: 1,
      sourceKey: row!.sourceKey,
      outputPrefix: `videos/${video.id}/r1`,
      // Never published before: the job may start with a fast-start pass.
      fastStart: true,
    });
    expect(entriesOf(media(".staging"))).toEqual([]);
  });

  test("a new category name creates the category; the same name in another case reuses it", async () => {
    const countOf = async () =>
      (
        await api.database.db
          .select({ id: categories.id, name: categories.name })
          .from(categories)
          .where(sql`lower(${categories.name}) = 'nature docs'`)
      ).length;
    expect(await countOf()).toBe(0);
    const first = await createVideo(api, admin, { category: "Nature Docs" });
    expect(first.category).toBe("Nature Docs");
    expect(await countOf()).toBe(1);
    const second = await createVideo(api, admin, { category: "NATURE docs" });
    expect(await countOf()).toBe(1);
    // Both videos are in the one category, under the name it was created with.
    expect(second.category).toBe("Nature Docs");
    expect((await getVideo(admin, second.id)).category).toBe("Nature Docs");
    const [a, b] = await Promise.all(
      [first.id, second.id].map(async (id) => {
        const [row] = await api.database.db.select().from(videos).where(sql`${videos.id} = ${id}`);
        return row!.categoryId;
      }),
    );
    expect(a).toBe(b!);
  });

  test("415 for an empty file, a text file named .mp4 and random bytes; nothing is stored", async () => {
    const sourcesBefore = entriesOf(media("sources"));
    const random = crypto.getRandomValues(new Uint8Array(64 * 1024));
    const bad: Array<[string, Uint8Array]> = [
      ["empty", new Uint8Array(0)],
      ["text", new TextEncoder().encode("this is not a video, it only says so in its name\n".repeat(50))],
      ["random", random],
    ];
    for (const [label, file] of bad) {
      const response = await upload(api, admin, {
        title: label,
        category: "Junk",
        file,
        filename: `${label}.mp4`,
      });
      const { body } = await expectError(response, 415);
      expect(body.file, label).toBeDefined();
    }
    expectNoLeftovers(sourcesBefore);
  });

  test("413 past MAX_UPLOAD_BYTES, declared by content-length or streamed chunked; nothing is stored", async () => {
    const sourcesBefore = entriesOf(media("sources"));
    const big = mp4Padded(300_000);
    const declared = await upload(small, admin, { title: "too big", category: "Big", file: big });
    expect((await expectError(declared, 413)).body.detail).toContain(String(SMALL_LIMIT));

    // The same form as a chunked stream: no content-length, so the limit must be enforced while storing.
    const form = new Response(uploadForm({ title: "too big", category: "Big", file: big }));
    const contentType = form.headers.get("content-type")!;
    const bytes = new Uint8Array(await form.arrayBuffer());
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.byteLength; offset += 16 * 1024) {
          controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        }
        controller.close();
      },
    });
    const streamed = await sendAs(small, admin, "POST", "/api/admin/videos", {
      body: chunked,
      headers: { "content-type": contentType },
      duplex: "half",
    });
    expect((await expectError(streamed, 413)).body.detail).toContain(String(SMALL_LIMIT));

    // PUT file obeys the same limit.
    const target = await createVideo(api, admin);
    const sourcesWithTarget = entriesOf(media("sources"));
    const replaced = await sendAs(small, admin, "PUT", `/api/admin/videos/${target.id}/file`, {
      body: uploadForm({ file: big }),
    });
    await expectError(replaced, 413);
    expect((await getVideo(admin, target.id)).revision).toBe(1);
    expect(entriesOf(media("sources"))).toEqual(sourcesWithTarget);
    expect(sourcesWithTarget).toHaveLength(sourcesBefore.length + 1);
    expect(entriesOf(media(".staging"))).toEqual([]);

    // Just under the limit is fine on the same replica.
    const fits = await upload(small, admin, {
      title: "fits",
      category: "Big",
      file: mp4Padded(SMALL_LIMIT - 1000),
    });
    expect(fits.status).toBe(202);
  });

  test("400 for a missing title, category or file and 415 for a JSON body; nothing is stored", async () => {
    const sourcesBefore = entriesOf(media("sources"));
    const cases: Array<[string, Parameters<typeof upload>[2]]> = [
      ["title", { category: "Drama", file: mp4 }],
      ["title", { title: "   ", category: "Drama", file: mp4 }],
      ["category", { title: "No category", file: mp4 }],
      ["file", { title: "No file", category: "Drama" }],
    ];
    for (const [field, fields] of cases) {
      const { body } = await expectError(await upload(api, admin, fields), 400);
      expect(body[field], `missing ${field}: ${JSON.stringify(body)}`).toBeDefined();
    }
    const json = await sendAs(api, admin, "POST", "/api/admin/videos", {
      body: JSON.stringify({ title: "json", category: "Drama" }),
      headers: { "content-type": "application/json" },
    });
    await expectError(json, 415);
    const noBoundary = await sendAs(api, admin, "POST", "/api/admin/videos", {
      body: "garbage",
      headers: { "content-type": "multipart/form-data" },
    });
    await expectError(noBoundary, 400);
    const wrongPart = new FormData();
    wrongPart.append("title", "wrong part");
    wrongPart.append("category", "Drama");
    wrongPart.append("video", new Blob([mp4]), "clip.mp4");
    await expectError(await sendAs(api, admin, "POST", "/api/admin/videos", { body: wrongPart }), 400);
    expectNoLeftovers(sourcesBefore);
  });
});

describe("read, edit, delete, retry", () => {
  test("GET lists videos newest first and shows one; 404 for an unknown id, 400 for a non-numeric one", async () => {
    const older = await createVideo(api, admin, { title: "older" });
    const newer = await createVideo(api, admin, { title: "newer" });
    const list = await admin.get("/api/admin/videos");
    expect(list.status).toBe(200);
    const all = (await list.json()) as AdminVideo[];
    const ids = all.map((v) => v.id);
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
    expect(ids[0]).toBe(newer.id);
    const times = all.map((v) => Date.parse(v.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.find((v) => v.id === newer.id)).toEqual(newer);

    expect(await getVideo(admin, older.id)).toEqual(older);
    await expectError(await admin.get("/api/admin/videos/987654"), 404);
    await expectError(await admin.get("/api/admin/videos/abc"), 400);
    await expectError(await admin.get("/api/admin/videos/0"), 400);
  });

  test("PATCH edits title, description and category; 400 for a blank title or unknown fields", async () => {
    const video = await createVideo(api, admin, { title: "Before", description: "old", category: "Drama" });
    const patch = (id: number | string, body: unknown) =>
      admin.request("PATCH", `/api/admin/videos/${id}`, body);

    const edited = await patch(video.id, { title: " After ", description: "", category: "Comedy Gold" });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toEqual({
      ...video,
      title: "After",
      description: "",
      category: "Comedy Gold",
    });
    const partly = await patch(video.id, { description: "only this" });
    expect(((await partly.json()) as AdminVideo).title).toBe("After");

    await expectError(await patch(video.id, { title: "   " }), 400);
    await expectError(await patch(video.id, { title: "" }), 400);
    await expectError(await patch(video.id, { title: "ok", processing_state: "ready" }), 400);
    await expectError(await patch(video.id, { revision: 7 }), 400);
    await expectError(await patch(video.id, { category: "" }), 400);
    await expectError(await patch(987654, { title: "nobody" }), 404);
    await expectError(await patch("abc", { title: "nobody" }), 400);
    expect(await getVideo(admin, video.id)).toEqual({
      ...video,
      title: "After",
      description: "only this",
      category: "Comedy Gold",
    });
  });

  test("DELETE answers 204 and removes the row, the source, the published tree and the waiting job", async () => {
    const video = await createVideo(api, admin);
    const [row] = await api.database.db.select().from(videos).where(sql`${videos.id} = ${video.id}`);
    const source = media(row!.sourceKey);
    // As if an earlier revision had been published.
    const tree = media("videos", String(video.id), "r1", "720p");
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, "index.m3u8"), "#EXTM3U\n");
    expect(existsSync(source)).toBe(true);
    await waitingJob(video.id, 1);

    const deleted = await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    await expectError(await admin.get(`/api/admin/videos/${video.id}`), 404);
    expect(existsSync(source)).toBe(false);
    expect(existsSync(media("videos", String(video.id)))).toBe(false);
    expect(await queue.getJob(`video-${video.id}-r1`)).toBeUndefined();
    await expectError(await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`), 404);
    await expectError(await sendAs(api, admin, "DELETE", "/api/admin/videos/abc"), 400);
  });

  test("POST retry: 409 for a pending video, 404 for an unknown one", async () => {
    const video = await createVideo(api, admin);
    await expectError(await admin.post(`/api/admin/videos/${video.id}/retry`), 409);
    await expectError(await admin.post("/api/admin/videos/987654/retry"), 404);
    await waitingJob(video.id, 1);
    expect((await getVideo(admin, video.id)).processing_state).toBe("pending");
  });
});

describe("replace the file", () => {
  test("PUT file answers 202 with revision 2, enqueues r2, removes r1's job and the old source", async () => {
    const video = await createVideo(api, admin, { title: "Replaceable" });
    const [before] = await api.database.db.select().from(videos).where(sql`${videos.id} = ${video.id}`);
    await waitingJob(video.id, 1);

    const second = mp4Padded(mp4.byteLength + 4096);
    second.set(mp4);
    const response = await replaceFile(api, admin, video.id, second);
    expect(response.status).toBe(202);
    const replaced = (await response.json()) as AdminVideo;
    expect(replaced).toEqual({ ...video, revision: 2, processing_state: "pending" });

    const [after] = await api.database.db.select().from(videos).where(sql`${videos.id} = ${video.id}`);
    expect(after!.sourceKey).not.toBe(before!.sourceKey);
    expect(after!.sourceBytes).toBe(second.byteLength);
    expect(existsSync(media(before!.sourceKey))).toBe(false);
    expect(existsSync(media(after!.sourceKey))).toBe(true);

    expect(await queue.getJob(`video-${video.id}-r1`)).toBeUndefined();
    const job = await waitingJob(video.id, 2);
    expect(job.data).toEqual({
      videoId: video.id,
      revision: 2,
      sourceKey: after!.sourceKey,
      outputPrefix: `videos/${video.id}/r2`,
      // Never published before: the job may start with a fast-start pass.
      fastStart: true,
    });

    // Refused replacements change nothing.
    const sourcesBefore = entriesOf(media("sources"));
    await expectError(await replaceFile(api, admin, video.id), 400);
    await expectError(
      await replaceFile(api, admin, video.id, new TextEncoder().encode("not a video at all")),
      415,
    );
    await expectError(await replaceFile(api, admin, 987654, mp4), 404);
    expectNoLeftovers(sourcesBefore);
    expect((await getVideo(admin, video.id)).revision).toBe(2);
  });
});
