// What a review of the tus uploads found, each held down by a test that fails without its fix: a
// dialect's token in the course cookie, a PATCH cut short (tus-js-client's default: one PATCH for the
// whole file), the crash window of the last byte, direct-upload credentials in the request log, a
// direct-upload URL burned by a failed creation or a termination, and translations in the metadata.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { eq } from "drizzle-orm";
import pino from "pino";
import { createApp } from "../../api/app.ts";
import { buildServices } from "../../api/services.ts";
import { BackgroundTasks } from "../../api/shared/background-tasks.ts";
import { videos } from "../../db/schema/index.ts";
import { createMailer } from "../../emails/mailer.ts";
import { ADMIN, ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { DJOSER_ENV, DjoserClient } from "../support/djoser.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import {
  metadataHeader,
  patchHeaders,
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
  api = await startTestApi(
    { ...ADMIN_ENV, ...DJOSER_ENV, SUPPORTED_LANGUAGES: "en,de" },
    { consumeEvents: false },
  );
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

/** A direct-upload URL (its path, on the test api's origin) and its id. */
async function directUpload(): Promise<{ id: string; url: string }> {
  const response = await admin.post("/api/admin/direct-uploads", {
    title: "Integrator's clip",
    category: "Direct",
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const { id, url } = (await response.json()) as { id: string; url: string };
  return { id, url: new URL(new URL(url).pathname, api.url).href };
}

describe("the request log", () => {
  test("a direct-upload URL's path is logged with its id, never its signature", async () => {
    const lines: Array<{ msg: string; path: string; method: string }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const mailer = createMailer({ smtpUrl: api.smtp.url, from: api.config.mailFrom, mailDir: "unused", log });
    const services = buildServices({
      config: api.config,
      database: api.database,
      redis: api.redis,
      bus: api.runtime.bus,
      mailer,
      log,
      background: new BackgroundTasks(log),
      clock: { now: () => new Date() },
      storage: api.runtime.storage,
      transcodeQueue: api.runtime.transcodeQueue,
      dashboardQueues: [],
    });
    const app = await createApp({ config: api.config, log, services });
    try {
      const { id, url } = await directUpload();
      const token = new URL(url).pathname.split("/").filter(Boolean).at(-1)!;
      const signature = token.split(".")[1]!;
      const created = await app.handle(
        new Request(url, {
          method: "POST",
          headers: {
            ...TUS,
            "upload-length": "1000",
            "upload-metadata": metadataHeader({ filename: "a.mp4" }),
          },
        }),
      );
      expect(created.status, await created.clone().text()).toBe(201);
      const location = new URL(created.headers.get("location")!, url).href;
      expect((await app.handle(new Request(location, { method: "HEAD", headers: TUS }))).status).toBe(200);
      await Bun.sleep(20);
      const logged = lines
        .filter((line) => line.msg === "request")
        .map((line) => `${line.method} ${line.path}`);
      const uploadId = location.split("/").at(-1);
      expect(logged).toEqual([
        `POST /api/uploads/direct/${id}.redacted/`,
        `HEAD /api/uploads/direct/${id}.redacted/${uploadId}`,
      ]);
      expect(JSON.stringify(lines)).not.toContain(signature);
    } finally {
      await mailer.close();
    }
  }, 30_000);
});

describe("metadata", () => {
  test("translations in Upload-Metadata reach the video, as the multipart route's do", async () => {
    const translations = { de: { title: "Der Film", description: "Auf Deutsch." } };
    const { url } = await tusClientUpload(mp4, {
      endpoint: endpoint(),
      headers: sessionHeaders(admin),
      metadata: { ...META, title: "Translated", translations: JSON.stringify(translations) },
    });
    const { row } = await videoOfUpload(url);
    expect(row.title).toBe("Translated");
    expect(row.translations).toEqual(translations);
    // Still checked at creation, before any byte: a language not in SUPPORTED_LANGUAGES is a 400.
    const refused = await tusRequest(endpoint(), "POST", admin, {
      "upload-length": "1000",
      "upload-metadata": metadataHeader({ ...META, translations: JSON.stringify({ xx: { title: "?" } }) }),
    });
    expect(refused.status).toBe(400);
    expect(Object.keys(await refused.json())).toEqual(["translations.xx"]);
  }, 30_000);
});

describe("a direct-upload URL is not burned", () => {
  const statusOf = async (id: string) =>
    ((await (await admin.get(`/api/admin/direct-uploads/${id}`)).json()) as { status: string }).status;
  const createWith = (url: string) =>
    tusRequest(url, "POST", null, {
      "upload-length": String(mp4.byteLength),
      "upload-metadata": metadataHeader({ filename: "clip.mp4" }),
    });

  test("by a creation that fails after the URL was bound (the store cannot write): it is free again", async () => {
    const { id, url } = await directUpload();
    // A file where the uploads folder belongs: the store's write of the upload's info fails for real.
    const uploads = join(api.config.mediaRoot, "uploads");
    mkdirSync(uploads, { recursive: true });
    renameSync(uploads, `${uploads}.aside`);
    writeFileSync(uploads, "not a folder");
    let failed: Response;
    try {
      failed = await createWith(url);
    } finally {
      rmSync(uploads);
      renameSync(`${uploads}.aside`, uploads);
    }
    expect(failed.status).toBe(500);
    expect(await statusOf(id)).toBe("waiting");
    const again = await createWith(url);
    expect(again.status, await again.clone().text()).toBe(201);
    expect(await statusOf(id)).toBe("uploading");
  }, 30_000);

  test("by an admin's termination of its upload: the URL may make a new one", async () => {
    const { id, url } = await directUpload();
    const created = await createWith(url);
    expect(created.status).toBe(201);
    const uploadId = created.headers.get("location")!.split("/").at(-1)!;
    const terminated = await tusRequest(`${endpoint()}${uploadId}`, "DELETE", admin);
    expect(terminated.status).toBe(204);
    expect(await statusOf(id)).toBe("waiting");
    const again = await createWith(url);
    expect(again.status, await again.clone().text()).toBe(201);
    const location = new URL(again.headers.get("location")!, url).href;
    const sent = await tusRequest(location, "PATCH", null, patchHeaders(0), mp4);
    expect(sent.status).toBe(204);
    expect(await statusOf(id)).toBe("asset_created");
  }, 30_000);
});

describe("an api killed while the last byte is being finished", () => {
  /** An upload whose every byte is stored and whose finishing got as far as placing its source. */
  async function killedWhileFinishing(title: string) {
    const created = await tusRequest(endpoint(), "POST", admin, {
      "upload-length": String(mp4.byteLength),
      "upload-metadata": metadataHeader({ ...META, title }),
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get("location")!, api.url).href;
    const uploadId = url.split("/").at(-1)!;
    // What the killed api had done: the bytes stored (by the store, so no PATCH finished them), then the
    // first step of finishing, the source put in place; the video's transaction never committed.
    const store = api.runtime.services.uploadStore;
    expect(await store.write(Readable.from([Buffer.from(mp4)]), uploadId, 0)).toBe(mp4.byteLength);
    const { key } = await store.assemble(uploadId, `sources/${randomUUID()}.mp4`);
    return { url, uploadId, key };
  }

  test("HEAD still reports every byte, and the client's resume makes the video from the same source", async () => {
    const { url, key } = await killedWhileFinishing("Killed while finishing");
    const head = await tusRequest(url, "HEAD", admin);
    expect(head.status).toBe(200);
    expect(head.headers.get("upload-offset")).toBe(String(mp4.byteLength));
    // tus-js-client sees the whole offset and sends nothing more: the HEAD itself finished the upload.
    const videoId = Number(head.headers.get("video-id"));
    expect(videoId).toBeGreaterThan(0);
    await tusClientUpload(mp4, { endpoint: endpoint(), uploadUrl: url, headers: sessionHeaders(admin) });
    const { row, source } = await videoOfUpload(url);
    expect(row.id).toBe(videoId);
    expect(row.sourceKey).toBe(key);
    expect(sha256Hex(source)).toBe(sha256Hex(mp4));
    const again = await tusRequest(url, "HEAD", admin);
    expect(again.headers.get("video-id")).toBeNull();
    expect(again.headers.get("upload-offset")).toBe(String(mp4.byteLength));
  }, 30_000);

  test("the periodic sweep removes old sources no video names, and spares one being finished", async () => {
    const claimed = await killedWhileFinishing("Claimed source");
    const orphan = `sources/${randomUUID()}.mp4`;
    const orphanPath = join(api.config.mediaRoot, orphan);
    mkdirSync(dirname(orphanPath), { recursive: true });
    writeFileSync(orphanPath, mp4);
    const fresh = `sources/${randomUUID()}.mp4`;
    writeFileSync(join(api.config.mediaRoot, fresh), mp4);
    const { row } = await videoOfUpload(
      (await tusClientUpload(mp4, { endpoint: endpoint(), headers: sessionHeaders(admin), metadata: META }))
        .url,
    );
    // Older than STAGING_MAX_IDLE_SECONDS: the orphan, the claimed source and a video's own source.
    const past = new Date(Date.now() - (api.config.storage.stagingMaxIdleSeconds + 60) * 1000);
    for (const key of [orphan, claimed.key, row.sourceKey])
      utimesSync(join(api.config.mediaRoot, key), past, past);
    const outcome = await api.runtime.sweepStorage();
    expect(outcome.orphanSources).toBe(1);
    expect(existsSync(orphanPath)).toBe(false);
    for (const kept of [claimed.key, row.sourceKey, fresh]) {
      expect(existsSync(join(api.config.mediaRoot, kept)), kept).toBe(true);
    }
    rmSync(join(api.config.mediaRoot, fresh));
  }, 30_000);
});
