// The resumable upload, at its size: tus-js-client sends a 1 GiB film (a real short MP4 padded
// by a `free` box, generated as it is read) in 8 MiB chunks to the api running as its own process,
// through a front that cuts the connection at 5 random offsets; half-way the api process is restarted
// (SIGTERM, a new one takes over). The video appears exactly once, its source is the film byte for
// byte, and a transcoder process takes it to `ready`. Each api process's RSS (/proc/<pid>/status) is
// printed around the upload; the store frees each chunk once stored, so once warm it swings by less
// than MAX_SWING_MIB.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import { createTestDatabase, testRedisUrl } from "../../dev/services.ts";
import { fetchHttpStack } from "../../dev/tus-fetch-stack.ts";
import { ADMIN, ADMIN_ENV, sessionHeaders } from "../support/admin.ts";
import { type ApiProcess, rssMiB, startStandaloneApiProcess } from "../support/api-process.ts";
import { startTranscoder, type TranscoderProcess, untilState } from "../support/farm.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { GeneratedFilm } from "../support/generated-film.ts";
import { Client, TEST_JWT_SECRET } from "../support/test-api.ts";
import { type RoundRobin, startRoundRobin, tusClientUpload } from "../support/tus.ts";

const MiB = 1024 * 1024;
const FILM_BYTES = 1024 * MiB;
const CHUNK_BYTES = 8 * MiB;
const CUTS = 5;
// Enough tries, spaced enough, to outlast the api's restart.
const RETRY_DELAYS = [0, 250, 250, 500, 500, 1000, 1000, 1000, 2000, 2000, 3000, 5000, 5000];
const WARM_UP_BYTES = 64 * MiB;
// How far RSS may swing (peak − low) once warm. With each chunk freed once stored: 9–22 MiB in the runs
// measured; with the chunks left to the collector: 37–86 MiB (BENCHMARKS.md, "Resumable uploads").
const MAX_SWING_MIB = 40;
const TITLE = "A gibibyte, cut five times and restarted";

let scratch: string;
let dropDatabase: () => Promise<void>;
let database: DatabaseHandle;
let apiEnv: Record<string, string>;
let first: ApiProcess;
let restarted: ApiProcess | null = null;
let transcoder: TranscoderProcess;
let front: RoundRobin;
let admin: Client;
let film: GeneratedFilm;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vf-gib-upload-"));
  const mp4 = tinyMp4Bytes(); // encoded while the api starts
  const [testDatabase, redisUrl] = await Promise.all([createTestDatabase(), testRedisUrl()]);
  dropDatabase = testDatabase.drop;
  const mediaRoot = join(scratch, "media");
  apiEnv = {
    ...ADMIN_ENV,
    DATABASE_URL: testDatabase.url,
    REDIS_URL: redisUrl,
    MEDIA_ROOT: mediaRoot,
    MAIL_DIR: join(scratch, "mail"),
    JWT_SECRET: TEST_JWT_SECRET,
    TRUST_PROXY: "true",
  };
  first = await startStandaloneApiProcess(apiEnv);
  database = await openDatabase({ url: testDatabase.url, pgliteDir: join(scratch, "pglite") });
  transcoder = startTranscoder({ config: { redisUrl, mediaRoot } }, "gib-worker");
  front = startRoundRobin([first.url]);
  admin = new Client(front.url);
  const login = await admin.post("/api/login/", ADMIN);
  expect(login.status, await login.clone().text()).toBe(200);
  film = new GeneratedFilm(await mp4, FILM_BYTES);
}, 120_000);
afterAll(async () => {
  front?.stop();
  await transcoder?.stop();
  await restarted?.stop();
  await first?.stop();
  await database?.close();
  await dropDatabase?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * RSS of one api process, sampled every 50 ms and after each chunk it acknowledged: at its start, once
 * warm (after its first 64 MiB: the code paths loaded, the first buffers allocated), and its peak since.
 * The first api's start may still hold the admin's sign-in (argon2id verifies in 64 MiB, not always
 * given back at once): warm is the baseline.
 */
class RssTrace {
  readonly start: number;
  peak: number;
  warm: number | null = null;
  peakWarm: number | null = null;
  lowWarm: number | null = null;
  readonly afterChunk = new Map<number, number>();
  private firstAccepted: number | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(readonly api: ApiProcess) {
    this.start = rssMiB(api.pid);
    this.peak = this.start;
    this.timer = setInterval(() => this.sample(), 50);
  }

  sample(): number {
    if (this.stopped) return this.peak;
    const now = rssMiB(this.api.pid);
    this.peak = Math.max(this.peak, now);
    if (this.peakWarm !== null) this.peakWarm = Math.max(this.peakWarm, now);
    if (this.lowWarm !== null) this.lowWarm = Math.min(this.lowWarm, now);
    return now;
  }

  chunkAccepted(bytes: number): void {
    // The first api may still answer its last PATCH while it stops: its trace ended before.
    if (this.stopped) return;
    const now = this.sample();
    this.afterChunk.set(bytes, now);
    this.firstAccepted ??= bytes;
    if (this.warm === null && bytes - this.firstAccepted >= WARM_UP_BYTES) {
      this.warm = now;
      this.peakWarm = now;
      this.lowWarm = now;
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** The RSS after the first chunk acknowledged at or past `bytes`. */
  at(bytes: number): number | undefined {
    for (const [accepted, rss] of this.afterChunk) if (accepted >= bytes) return rss;
    return undefined;
  }
}

test("1 GiB in 8 MiB chunks: 5 cuts, an api restart half-way, one video, the same bytes, ready", async () => {
  const started = performance.now();
  const cuts = Array.from({ length: CUTS }, () => Math.floor(Math.random() * (FILM_BYTES - 1)) + 1);
  console.log(`cuts at MiB ${cuts.map((offset) => (offset / MiB).toFixed(1)).join(", ")}`);
  front.cutAt(cuts);
  const traces = [new RssTrace(first)];
  let restart: Promise<void> | null = null;
  let restartedAt = 0;
  let url: string;
  let afterUpload: number;
  try {
    ({ url } = await tusClientUpload(film, {
      endpoint: `${front.url}/api/uploads/`,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      httpStack: fetchHttpStack,
      headers: sessionHeaders(admin),
      metadata: { title: TITLE, category: "Resumable", filename: "film.mp4" },
      onChunkComplete: (_size, accepted) => {
        traces.at(-1)!.chunkAccepted(accepted);
        if (restart || accepted < FILM_BYTES / 2) return;
        restartedAt = accepted;
        restart = (async () => {
          traces[0]!.stop();
          await first.stop();
          restarted = await startStandaloneApiProcess(apiEnv);
          traces.push(new RssTrace(restarted));
          front.route([restarted.url]);
        })();
      },
    }));
    await restart;
    afterUpload = traces.at(-1)!.sample();
  } finally {
    // A failed upload must not leave samplers reading a process that is gone.
    await restart;
    for (const trace of traces) trace.stop();
  }
  const uploadSeconds = (performance.now() - started) / 1000;
  expect(restart).not.toBeNull();
  expect(front.cuts()).toBe(CUTS);
  expect(front.served.get(restarted!.url)).toBeGreaterThan(0);

  // Exactly one video, named by the upload, its source the film byte for byte.
  const answer = await admin.get(`/api/uploads/${url.split("/").at(-1)}/video`);
  expect(answer.status).toBe(200);
  const { id } = (await answer.json()) as { id: number };
  const rows = await database.db.select().from(videos).where(eq(videos.title, TITLE));
  expect(rows.map((row) => row.id)).toEqual([id]);
  expect(rows[0]!.sourceBytes).toBe(FILM_BYTES);
  expect(await film.storedAt(join(apiEnv.MEDIA_ROOT!, rows[0]!.sourceKey))).toBe(true);
  const verifiedSeconds = (performance.now() - started) / 1000;
  await untilState(admin, id, "ready", 120_000);
  const readySeconds = (performance.now() - started) / 1000;

  const [one, two] = traces as [RssTrace, RssTrace];
  const mib = (value: number | null | undefined) => (value == null ? "–" : Math.round(value));
  console.log(
    `1 GiB: uploaded in ${uploadSeconds.toFixed(1)} s (${(FILM_BYTES / MiB / uploadSeconds).toFixed(0)} MiB/s, ` +
      `${CUTS} cuts, the api restarted at ${(restartedAt / MiB).toFixed(0)} MiB), source checked in ` +
      `${(verifiedSeconds - uploadSeconds).toFixed(1)} s, ready ${(readySeconds - verifiedSeconds).toFixed(1)} s later`,
  );
  console.table(
    [one, two].map((trace, index) => ({
      api: index === 0 ? "first (0 → restart)" : "restarted (→ 1 GiB)",
      "start MiB": mib(trace.start),
      "warm (+64 MiB)": mib(trace.warm),
      "+256 MiB": mib(trace.at((index === 0 ? 0 : restartedAt) + 256 * MiB)),
      "last chunk": mib(index === 0 ? one.at(restartedAt) : afterUpload),
      "peak since warm": mib(trace.peakWarm),
      "peak − warm": mib(trace.peakWarm! - trace.warm!),
      "low since warm": mib(trace.lowWarm),
      swing: mib(trace.peakWarm! - trace.lowWarm!),
    })),
  );
  for (const trace of [one, two]) expect(trace.peakWarm! - trace.lowWarm!).toBeLessThan(MAX_SWING_MIB);
}, 300_000);
