// A replica's copies of sources on object storage (transcoder/source-cache.ts), against a real
// SeaweedFS bucket: the pieces of one film that land on a replica download its source once; a copy in
// use is never taken away; the cache keeps to its size, forgets what nobody used, and never serves a
// copy of an object that changed under its key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Redis from "ioredis";
import pino from "pino";
import { testRedisUrl, testS3 } from "../../dev/services.ts";
import { LocalMediaStorage, openMediaStorage, type S3MediaStorage } from "../../storage/index.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import {
  openSourceReader,
  SOURCE_CACHE_FOLDER,
  SourceCache,
  type SourceReadFrom,
} from "../../transcoder/source-cache.ts";
import { StagingSweeper } from "../../transcoder/staging-sweeper.ts";
import { startTranscodeWorker } from "../../transcoder/worker.ts";
import { eventually } from "../support/eventually.ts";
import { s3StorageFor } from "../support/s3-storage.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-source-cache-"));
let storage: S3MediaStorage;
let drop: (() => Promise<void>) | undefined;
let bucketEnv: Record<string, string> = {};
const MiB = 1024 * 1024;

beforeAll(async () => {
  const bucket = await testS3();
  drop = bucket.drop;
  bucketEnv = bucket.env;
  storage = s3StorageFor(bucket, "cache-test/", scratch);
}, 60_000);
afterAll(async () => {
  await drop?.();
  rmSync(scratch, { recursive: true, force: true });
});

/** A source of `bytes` whose content says which one it is. */
async function putSource(key: string, bytes: number, fill: number): Promise<Uint8Array> {
  const body = new Uint8Array(bytes).fill(fill);
  const file = join(scratch, `upload-${fill}`);
  writeFileSync(file, body);
  await storage.putFile(file, key);
  return body;
}

let caches = 0;
function cacheOf(options: { maxBytes?: number; idleMs?: number } = {}) {
  const reads: Array<[SourceReadFrom, number]> = [];
  const dir = join(scratch, `replica-${++caches}`, "source-cache");
  const cache = new SourceCache({
    storage,
    dir,
    maxBytes: options.maxBytes ?? 100 * MiB,
    idleMs: options.idleMs ?? 3600_000,
    onRead: (from, bytes) => reads.push([from, bytes]),
  });
  const count = (from: SourceReadFrom) => reads.filter(([where]) => where === from).length;
  return { cache, dir, reads, count };
}

const hold = (cache: SourceCache, key: string) => cache.hold(key, { dir: join(scratch, "unused") });

describe("one download per source and replica", () => {
  test("three holds at once share one download; a later hold reads the copy", async () => {
    const body = await putSource("sources/film-a.mp4", 3 * MiB, 7);
    const { cache, reads, count } = cacheOf();
    const progress: number[] = [];
    const held = await Promise.all([
      cache.hold("sources/film-a.mp4", { dir: scratch, onProgress: (done) => progress.push(done) }),
      hold(cache, "sources/film-a.mp4"),
      hold(cache, "sources/film-a.mp4"),
    ]);
    expect(new Set(held.map((source) => source.path)).size).toBe(1);
    expect(readFileSync(held[0]!.path).equals(Buffer.from(body))).toBe(true);
    expect(count("storage")).toBe(1);
    expect(count("cache")).toBe(2);
    expect(reads.find(([from]) => from === "storage")?.[1]).toBe(3 * MiB);
    expect(progress.at(-1)).toBe(3 * MiB);
    for (const source of held) await source.release();
    const again = await hold(cache, "sources/film-a.mp4");
    expect(again.path).toBe(held[0]!.path);
    expect(count("storage")).toBe(1);
    await again.release();
    expect(cache.bytes).toBe(3 * MiB);
    await cache.close();
  });

  test("a holder that stops waiting mid-download leaves the download to the others", async () => {
    await putSource("sources/film-b.mp4", 8 * MiB, 8);
    const { cache, count } = cacheOf();
    const stopped = new AbortController();
    const first = cache.hold("sources/film-b.mp4", {
      dir: scratch,
      signal: stopped.signal,
      onProgress: () => stopped.abort(new Error("lock lost")),
    });
    const second = hold(cache, "sources/film-b.mp4");
    await expect(first).rejects.toThrow("lock lost");
    const held = await second;
    expect(readFileSync(held.path).length).toBe(8 * MiB);
    expect(count("storage")).toBe(1);
    await held.release();
    await cache.close();
  });

  test("a missing source is refused and leaves nothing behind", async () => {
    const { cache, dir } = cacheOf();
    await expect(hold(cache, "sources/never-uploaded.mp4")).rejects.toThrow(
      "no object at sources/never-uploaded.mp4",
    );
    expect(cache.bytes).toBe(0);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    await cache.close();
  });
  test("a download that fails rejects every waiter and leaves no entry: the next hold downloads again", async () => {
    await putSource("sources/film-c.mp4", MiB, 9);
    // The cache's folder sits under a file: every download into it fails (ENOTDIR), as a full or
    // broken scratch disk would make it.
    const blocked = join(scratch, "blocked");
    writeFileSync(blocked, "not a folder");
    const cache = new SourceCache({
      storage,
      dir: join(blocked, "source-cache"),
      maxBytes: MiB,
      idleMs: 60_000,
    });
    const waiters = [hold(cache, "sources/film-c.mp4"), hold(cache, "sources/film-c.mp4")];
    // Both handled at once: the second rejects while the first is awaited.
    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    for (const outcome of outcomes)
      expect(String((outcome as PromiseRejectedResult).reason)).toContain("ENOTDIR");
    expect(cache.bytes).toBe(0);
    rmSync(blocked);
    const held = await hold(cache, "sources/film-c.mp4");
    expect(readFileSync(held.path)[0]).toBe(9);
    await held.release();
    await cache.close();
  });
});

describe("what the cache keeps", () => {
  test("over its size the least recently used idle copy goes; a copy in use never does", async () => {
    for (const [index, name] of ["c1", "c2", "c3"].entries())
      await putSource(`sources/${name}.mp4`, MiB, 20 + index);
    const { cache, count } = cacheOf({ maxBytes: 2.5 * MiB });
    const c1 = await hold(cache, "sources/c1.mp4");
    await c1.release();
    const c2 = await hold(cache, "sources/c2.mp4");
    await c2.release();
    const c1Again = await hold(cache, "sources/c1.mp4"); // c1 is now the more recent of the two
    const c3 = await hold(cache, "sources/c3.mp4");
    expect(existsSync(c2.path)).toBe(false);
    expect(existsSync(c1Again.path)).toBe(true);
    expect(existsSync(c3.path)).toBe(true);
    expect(cache.bytes).toBe(2 * MiB);
    expect(count("storage")).toBe(3);

    // Both held and the size is 1 MiB: nothing goes while held, the older goes once let go.
    const small = cacheOf({ maxBytes: MiB });
    const a = await hold(small.cache, "sources/c1.mp4");
    const b = await hold(small.cache, "sources/c2.mp4");
    expect(existsSync(a.path) && existsSync(b.path)).toBe(true);
    await a.release();
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(b.path)).toBe(true);
    for (const source of [c1Again, c3, b]) await source.release();
    await cache.close();
    await small.cache.close();
  });

  test("let go with keep: false the copy goes at once, unless another job still holds it", async () => {
    await putSource("sources/d.mp4", MiB, 30);
    const { cache } = cacheOf();
    const film = await hold(cache, "sources/d.mp4");
    const piece = await hold(cache, "sources/d.mp4");
    await film.release({ keep: false });
    expect(existsSync(piece.path)).toBe(true);
    await piece.release({ keep: false });
    expect(existsSync(piece.path)).toBe(false);
    expect(cache.bytes).toBe(0);
    await cache.close();
  });

  test("a copy nobody held for the idle time goes; dropIdle frees the idle ones at once", async () => {
    await putSource("sources/e.mp4", MiB, 40);
    await putSource("sources/f.mp4", MiB, 41);
    const idle = cacheOf({ idleMs: 1000 });
    const e = await hold(idle.cache, "sources/e.mp4");
    await e.release();
    await eventually("the idle copy to go", async () => !existsSync(e.path), 10_000);
    expect(idle.cache.bytes).toBe(0);
    await idle.cache.close();

    const { cache } = cacheOf();
    const kept = await hold(cache, "sources/e.mp4");
    const f = await hold(cache, "sources/f.mp4");
    await f.release();
    expect(await cache.dropIdle()).toBe(MiB);
    expect(existsSync(f.path)).toBe(false);
    expect(existsSync(kept.path)).toBe(true);
    await kept.release();
    await cache.close();
  });

  test("an object replaced under its key is downloaded again; the old copy stays with its holder", async () => {
    await putSource("sources/g.mp4", MiB, 50);
    const { cache, count } = cacheOf();
    const old = await hold(cache, "sources/g.mp4");
    // Another size: the stat no longer matches the copy.
    const replaced = await putSource("sources/g.mp4", MiB + 17, 51);
    const fresh = await hold(cache, "sources/g.mp4");
    expect(fresh.path).not.toBe(old.path);
    expect(readFileSync(fresh.path).equals(Buffer.from(replaced))).toBe(true);
    expect(readFileSync(old.path)[0]).toBe(50);
    expect(count("storage")).toBe(2);
    await old.release();
    expect(existsSync(old.path)).toBe(false);
    expect(existsSync(fresh.path)).toBe(true);
    await fresh.release();
    await cache.close();
  });

  test("it starts empty (no index survives a restart) and owns only its folder", async () => {
    const dir = join(scratch, "restarted", "source-cache");
    mkdirSync(join(dir, "1"), { recursive: true });
    writeFileSync(join(dir, "1", "left-over.mp4"), "half a download");
    const cache = new SourceCache({ storage, dir, maxBytes: MiB, idleMs: 60_000 });
    await putSource("sources/h.mp4", 1000, 60);
    const held = await hold(cache, "sources/h.mp4");
    expect(existsSync(join(dir, "1", "left-over.mp4"))).toBe(false);
    expect(cache.owns(dir)).toBe(true);
    expect(cache.owns(dirname(held.path))).toBe(true);
    expect(cache.owns(`${dir}-other`)).toBe(false);
    expect(cache.owns(dirname(dir))).toBe(false);
    await held.release();
    await cache.close();
  });
});

test("local storage and a size of 0 read without a cache: the local file in place, a bucket per hold", async () => {
  const mediaRoot = join(scratch, "media");
  const local = new LocalMediaStorage(mediaRoot);
  mkdirSync(join(mediaRoot, "sources"), { recursive: true });
  writeFileSync(join(mediaRoot, "sources", "i.mp4"), "local source");
  const options = { dir: join(scratch, "x"), maxBytes: MiB, idleMs: 1000 };
  const inPlace = openSourceReader({ ...options, storage: local });
  expect(inPlace).not.toBeInstanceOf(SourceCache);
  const held = await inPlace.hold("sources/i.mp4", { dir: join(scratch, "y") });
  expect(held.path).toBe(join(mediaRoot, "sources", "i.mp4"));

  await putSource("sources/j.mp4", 1000, 70);
  const reads: SourceReadFrom[] = [];
  const uncached = openSourceReader({ ...options, storage, maxBytes: 0, onRead: (from) => reads.push(from) });
  expect(uncached).not.toBeInstanceOf(SourceCache);
  const one = await uncached.hold("sources/j.mp4", { dir: join(scratch, "z1") });
  const two = await uncached.hold("sources/j.mp4", { dir: join(scratch, "z2") });
  expect(one.path).not.toBe(two.path);
  expect(reads).toEqual(["storage", "storage"]);
});

test("a transcoder's staging sweep leaves the cache's folder alone, however old its copies", async () => {
  const redisUrl = await testRedisUrl();
  const redis = new Redis(redisUrl);
  const config = loadTranscoderConfig({
    ...bucketEnv,
    REDIS_URL: redisUrl,
    TRANSCODER_NAME: "sweep-test",
    TRANSCODER_SCRATCH: join(scratch, "sweep-test"),
    TRANSCODER_METRICS_PORT: "0",
  });
  const workerStorage = openMediaStorage(config.storage, config.scratchDir);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const farm = startTranscodeWorker({
    config,
    connection,
    redis,
    storage: workerStorage,
    log: pino({ level: "silent" }),
    hwaccel: "none",
  });
  const cacheDir = join(config.scratchDir, SOURCE_CACHE_FOLDER);
  expect(farm.isRunningStaging(cacheDir)).toBe(true);
  // A copy downloaded long ago (its time is the download's) beside a leftover nobody owns.
  await putSource("sources/k.mp4", 1000, 80);
  const cache = new SourceCache({ storage, dir: cacheDir, maxBytes: MiB, idleMs: 3600_000 });
  const held = await hold(cache, "sources/k.mp4");
  const leftover = join(config.scratchDir, "displaced-old");
  mkdirSync(leftover, { recursive: true });
  const sweeper = new StagingSweeper({
    storage: workerStorage,
    redis,
    lockKeyOf: (jobId) => `${farm.worker.toKey(jobId)}:lock`,
    isRunning: farm.isRunningStaging,
    quietMs: 0,
    maxIdleMs: -1,
    log: pino({ level: "silent" }),
  });
  const swept = await sweeper.sweep();
  expect(swept.stale_staging.items).toBe(1);
  expect(existsSync(leftover)).toBe(false);
  expect(existsSync(held.path)).toBe(true);
  await held.release();
  await cache.close();
  await farm.close(0);
  connection.disconnect();
  redis.disconnect();
});
