// `bun run media:backfill-mp4`, run as a subprocess the way an operator does, on videos transcoded before
// progressive MP4s existed (a real tree with its MP4s taken out, and a result without `mp4`): on the
// local driver and on a real SeaweedFS bucket. It remuxes what is missing, records it in PostgreSQL,
// skips what is complete, reports a broken tree and exits 1 for it, and finishes on the next run. An
// api started on the bucket then hands the MP4 out by a presigned URL that serves byte ranges.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { outputPrefixFor, type Rendition, type TranscodeResult } from "../../contract/media.ts";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { generateVideo } from "../../dev/media.ts";
import { createTestDatabase, testS3 } from "../../dev/services.ts";
import { topLevelBoxes } from "../../transcoder/hls/progressive-mp4.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { s3StorageFor } from "../support/s3-storage.ts";
import { loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "vf-backfill-mp4-"));
/** The transcoded tree as it was before MP4s: segments and playlists only. */
const oldTree = join(scratch, "old-tree");
let withMp4: TranscodeResult;
let withoutMp4: TranscodeResult;

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;
const databases: TestDatabase[] = [];
let api: TestApi | undefined;
let bucket: Awaited<ReturnType<typeof testS3>> | undefined;

beforeAll(async () => {
  const sourcePath = await generateVideo(join(scratch, "source.mp4"), {
    seconds: 2,
    width: 640,
    height: 360,
    fps: 25,
    audio: "stereo",
  });
  withMp4 = await transcode({
    sourcePath,
    outputDir: join(scratch, "tree"),
    segmentSeconds: 1,
    preset: "ultrafast",
    ladderHeights: [180, 360],
    thumbnails: false,
  });
  cpSync(join(scratch, "tree"), oldTree, { recursive: true });
  for (const rendition of withMp4.renditions) rmSync(join(oldTree, rendition.mp4!.path));
  withoutMp4 = { ...withMp4, renditions: withMp4.renditions.map(({ mp4: _mp4, ...rest }) => rest) };
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await bucket?.drop();
  await Promise.all(databases.map((database) => database.drop()));
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh database with one category; returns it opened. */
async function freshDatabase(): Promise<{
  database: TestDatabase;
  handle: DatabaseHandle;
  categoryId: number;
}> {
  const database = await createTestDatabase();
  databases.push(database);
  const handle = await openDatabase({ url: database.url, pgliteDir: "", poolSize: 1 });
  await handle.migrate();
  const [category] = await handle.db.insert(categories).values({ name: "Backfill" }).returning();
  return { database, handle, categoryId: category!.id };
}

/** A ready video published at revision 1 with `result`; returns its id. */
async function publishedVideo(handle: DatabaseHandle, categoryId: number, result: TranscodeResult) {
  const [row] = await handle.db
    .insert(videos)
    .values({
      title: "Old",
      categoryId,
      sourceKey: "sources/gone.mp4",
      sourceBytes: 1,
      processingState: "ready",
    })
    .returning({ id: videos.id });
  await handle.db
    .update(videos)
    .set({
      publishedRevision: 1,
      publishedPrefix: outputPrefixFor(row!.id, 1),
      renditions: result.renditions,
      masterPlaylist: result.masterPlaylist,
      durationSeconds: result.durationSeconds,
      readyAt: new Date(),
    })
    .where(eq(videos.id, row!.id));
  return row!.id;
}

async function renditionsIn(handle: DatabaseHandle, id: number): Promise<Rendition[]> {
  const [row] = await handle.db
    .select({ renditions: videos.renditions })
    .from(videos)
    .where(eq(videos.id, id));
  return row!.renditions;
}

async function backfill(env: Record<string, string>, ...args: string[]) {
  const child = Bun.spawn(["bun", "infra/media/backfill-mp4.ts", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? scratch, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("media:backfill-mp4 on the local driver", () => {
  const mediaRoot = join(scratch, "media");
  let handle: DatabaseHandle;
  let env: Record<string, string>;
  let ids: { old: number; broken: number; complete: number };
  const treeOf = (id: number) => join(mediaRoot, outputPrefixFor(id, 1));

  beforeAll(async () => {
    const fresh = await freshDatabase();
    handle = fresh.handle;
    env = { DATABASE_URL: fresh.database.url, STORAGE_URL: `file://${mediaRoot}` };
    ids = {
      old: await publishedVideo(handle, fresh.categoryId, withoutMp4),
      broken: await publishedVideo(handle, fresh.categoryId, withoutMp4),
      complete: await publishedVideo(handle, fresh.categoryId, withMp4),
    };
    mkdirSync(join(mediaRoot, "videos"), { recursive: true });
    cpSync(oldTree, treeOf(ids.old), { recursive: true });
    cpSync(oldTree, treeOf(ids.broken), { recursive: true });
    cpSync(join(scratch, "tree"), treeOf(ids.complete), { recursive: true });
    // The broken one lost a segment of its top rung.
    renameSync(join(treeOf(ids.broken), "360p", "seg_00001.ts"), join(scratch, "lost-segment.ts"));
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
  });

  test("--dry-run lists what it would remux and writes nothing", async () => {
    const run = await backfill(env, "--dry-run");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("3 listed videos, 2 without every MP4 (4 rungs to remux) (dry run)");
    expect(run.stdout).toContain(`video ${ids.old} r1: would remux 180p, 360p`);
    expect(await renditionsIn(handle, ids.old)).toEqual(withoutMp4.renditions);
    expect(Bun.file(join(treeOf(ids.old), "180p", "progressive.mp4")).size).toBe(0);
  });

  test("remuxes and records the old video, reports the broken one and exits 1", async () => {
    const run = await backfill(env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`^\\[1/2\\] video ${ids.old} r1: 180p [\\d.]+ MiB, 360p [\\d.]+ MiB in `, "m"),
    );
    expect(run.stderr).toMatch(new RegExp(`^\\[2/2\\] video ${ids.broken} r1: failed: MP4 of 360p: `, "m"));
    expect(run.stdout).toContain("1 video given 2 MP4s");
    expect(run.stdout).toContain("0 changed meanwhile, 1 failed, 1 already complete");

    const recorded = await renditionsIn(handle, ids.old);
    for (const rendition of recorded) {
      const path = join(treeOf(ids.old), rendition.name, "progressive.mp4");
      expect(rendition.mp4).toEqual({ path: `${rendition.name}/progressive.mp4`, size: statSync(path).size });
      const boxes = await topLevelBoxes(path);
      expect(boxes.indexOf("moov")).toBeLessThan(boxes.indexOf("mdat"));
    }
    // Stream copies of the same segments: as large as the pipeline's own MP4s, within a few header bytes.
    for (const [index, rendition] of recorded.entries()) {
      expect(Math.abs(rendition.mp4!.size - withMp4.renditions[index]!.mp4!.size)).toBeLessThan(256);
    }
    // The broken one is left as it was: nothing recorded, nothing written into its tree.
    expect(await renditionsIn(handle, ids.broken)).toEqual(withoutMp4.renditions);
    expect(Bun.file(join(treeOf(ids.broken), "180p", "progressive.mp4")).size).toBe(0);
    expect(await renditionsIn(handle, ids.complete)).toEqual(withMp4.renditions);
  }, 60_000);

  test("the next run finishes the repaired one and leaves the rest alone; then there is nothing to do", async () => {
    renameSync(join(scratch, "lost-segment.ts"), join(treeOf(ids.broken), "360p", "seg_00001.ts"));
    const before = statSync(join(treeOf(ids.old), "360p", "progressive.mp4")).mtimeMs;
    const run = await backfill(env);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("3 listed videos, 1 without every MP4 (2 rungs to remux)");
    expect(run.stdout).toMatch(new RegExp(`^\\[1/1\\] video ${ids.broken} r1: 180p `, "m"));
    expect(run.stdout).toContain("0 failed, 2 already complete");
    expect((await renditionsIn(handle, ids.broken)).every((rendition) => rendition.mp4 !== undefined)).toBe(
      true,
    );
    expect(statSync(join(treeOf(ids.old), "360p", "progressive.mp4")).mtimeMs).toBe(before);

    const again = await backfill(env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("3 listed videos, 0 without every MP4 (0 rungs to remux)");
  }, 60_000);

  test("bad arguments: usage and exit 64", async () => {
    const run = await backfill(env, "--everything");
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("usage: bun run media:backfill-mp4");
  });
});

describe("media:backfill-mp4 and a stored rendition name that is no rung's", () => {
  test("a name with ../ is refused with a clear message; nothing is written, inside the tree or out", async () => {
    const mediaRoot = join(scratch, "media-names");
    const fresh = await freshDatabase();
    try {
      // 180p twice: once as itself, once as "../r1/180p". The name also makes paths in the run's scratch
      // folder, which no storage key check guards: it is refused before either is made.
      const [low, high] = withoutMp4.renditions;
      const crafted = { ...withoutMp4, renditions: [low!, { ...high!, name: "../r1/180p" }] };
      const id = await publishedVideo(fresh.handle, fresh.categoryId, crafted);
      const tree = join(mediaRoot, outputPrefixFor(id, 1));
      mkdirSync(join(mediaRoot, "videos"), { recursive: true });
      cpSync(oldTree, tree, { recursive: true });
      const env = { DATABASE_URL: fresh.database.url, STORAGE_URL: `file://${mediaRoot}` };

      const run = await backfill(env);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `video ${id} r1: failed: rendition name "../r1/180p" is not a rung's (<short side>p, as the transcoder names them): refused, nothing remuxed`,
      );
      expect(await renditionsIn(fresh.handle, id)).toEqual(crafted.renditions);
      for (const path of [
        join(tree, "180p", "progressive.mp4"),
        join(mediaRoot, "videos", String(id), "r1", "180p", "progressive.mp4"),
        join(mediaRoot, "videos", String(id), "180p", "progressive.mp4"),
      ]) {
        expect({ path, size: Bun.file(path).size }).toEqual({ path, size: 0 });
      }
    } finally {
      await fresh.handle.close();
    }
  }, 60_000);
});

describe("progressive MP4s on a bucket: the pipeline's, and media:backfill-mp4's", () => {
  let handle: DatabaseHandle;
  let videoId: number;
  let databaseUrl: string;

  beforeAll(async () => {
    bucket = await testS3();
    const fresh = await freshDatabase();
    handle = fresh.handle;
    databaseUrl = fresh.database.url;
    videoId = await publishedVideo(handle, fresh.categoryId, withoutMp4);
    const upload = join(scratch, "upload");
    cpSync(oldTree, upload, { recursive: true });
    await s3StorageFor(bucket, "", scratch).publishDirectory(upload, outputPrefixFor(videoId, 1));
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
  });

  test("a transcoder's tree is published to the bucket with its MP4s, which presigned URLs serve", async () => {
    const storage = s3StorageFor(bucket!, "", scratch);
    const upload = join(scratch, "upload-new");
    cpSync(join(scratch, "tree"), upload, { recursive: true });
    // What the worker does with S3 (transcoder/worker.ts): the whole staging tree, playlists last.
    await storage.publishDirectory(upload, "videos/999/r1");
    for (const rendition of withMp4.renditions) {
      const key = `videos/999/r1/${rendition.mp4!.path}`;
      expect((await storage.stat(key))?.size).toBe(rendition.mp4!.size);
      const response = await fetch(storage.presign(key, 60), { headers: { range: "bytes=0-7" } });
      expect(response.status).toBe(206);
      expect(response.headers.get("content-type")).toBe("video/mp4");
      // The first box's header: its size, then "ftyp".
      expect(new TextDecoder().decode((await response.bytes()).slice(4, 8))).toBe("ftyp");
    }
  }, 60_000);

  test("uploads each rung's MP4 beside its segments and records it", async () => {
    const run = await backfill({ ...bucket!.env, DATABASE_URL: databaseUrl });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("1 video given 2 MP4s");
    const storage = s3StorageFor(bucket!, "", scratch);
    for (const rendition of await renditionsIn(handle, videoId)) {
      const stored = await storage.stat(`${outputPrefixFor(videoId, 1)}/${rendition.mp4!.path}`);
      expect(stored?.size).toBe(rendition.mp4!.size);
    }
  }, 60_000);

  test("an api on the bucket lists it and sends players to a presigned URL that serves ranges", async () => {
    api = await startTestApi({ ...bucket!.env, DATABASE_URL: databaseUrl });
    const viewer = await loggedInClient(api);
    const item = (await (await viewer.get(`/api/videos/${videoId}`)).json()) as {
      renditions: Array<{ name: string; mp4_url: string; size: number }>;
    };
    const rendition = item.renditions.find((candidate) => candidate.name === "360p")!;
    const signed = new URL(rendition.mp4_url);
    const redirect = await fetch(`${api.url}${signed.pathname}${signed.search}`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    const presigned = redirect.headers.get("location")!;
    expect(presigned.startsWith(bucket!.endpoint)).toBe(true);

    const whole = await fetch(presigned);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("video/mp4");
    const bytes = new Uint8Array(await whole.arrayBuffer());
    expect(bytes.byteLength).toBe(rendition.size);
    const copy = join(scratch, "from-bucket.mp4");
    writeFileSync(copy, bytes);
    const boxes = await topLevelBoxes(copy);
    expect(boxes.indexOf("moov")).toBeLessThan(boxes.indexOf("mdat"));

    const ranged = await fetch(presigned, { headers: { range: "bytes=2000-2999" } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(bytes.slice(2000, 3000));

    // download=1 is signed into the presigned URL: the store itself says attachment.
    const download = await fetch(`${api.url}${signed.pathname}${signed.search}&download=1`, {
      redirect: "manual",
    });
    expect(download.status).toBe(302);
    const attachment = await fetch(download.headers.get("location")!, { headers: { range: "bytes=0-9" } });
    expect(attachment.status).toBe(206);
    expect(attachment.headers.get("content-disposition")).toBe(
      `attachment; filename="video-${videoId}-360p.mp4"`,
    );
    await attachment.arrayBuffer();

    const forged = await fetch(`${api.url}${signed.pathname}?v=1&token=1.AAAAAAAAAAAAAAAAAAAAAA`, {
      redirect: "manual",
    });
    expect(forged.status).toBe(403);
  }, 60_000);
});
