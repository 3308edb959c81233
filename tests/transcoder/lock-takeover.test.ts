// A worker whose lock lapses (its link to Redis went silent longer than the lock) while another worker
// takes the job over: the first must stop its FFmpeg and drop its attempt without a word, by itself
// while the link is still silent (no BullMQ event can reach it then), the second's result is published
// and the video ends ready. Real Redis, PostgreSQL, FFmpeg and two real workers; only worker A's
// connections go through a partition the test cuts and heals.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import pino from "pino";
import { outputPrefixFor } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, transcodeJobId } from "../../contract/transcode-jobs.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { openMediaStorage } from "../../storage/index.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { type JobOutcome, startTranscodeWorker, type TranscodeWorker } from "../../transcoder/worker.ts";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { farmSource, untilState, uploadFile } from "../support/farm.ts";
import { type Partition, startPartition } from "../support/partition.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { videoEventsQueue } from "../support/transcoder.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-takeover-"));
let api: TestApi;
let admin: Client;
let partition: Partition;
const workers: Array<{ farm: TranscodeWorker; connections: Redis[] }> = [];

beforeAll(async () => {
  // One attempt: the stall hands the job over without using one up, and a lost attempt's error would
  // be the video's last word.
  api = await startTestApi({ ...ADMIN_ENV, TRANSCODE_ATTEMPTS: "1" });
  admin = await adminClient(api);
  const redis = new URL(api.config.redisUrl);
  partition = await startPartition({ hostname: redis.hostname, port: Number(redis.port) });
});
afterAll(async () => {
  partition?.heal();
  for (const { farm, connections } of workers) {
    await farm.close(0).catch(() => {});
    for (const connection of connections) connection.disconnect();
  }
  partition?.stop();
  await api?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A worker in this process, as transcoder/main.ts starts one; its log lines and outcomes are kept. */
function startWorker(name: string, redisUrl: string, env: Record<string, string>) {
  const config = loadTranscoderConfig({
    REDIS_URL: redisUrl,
    MEDIA_ROOT: api.config.mediaRoot,
    TRANSCODER_NAME: name,
    HLS_SEGMENT_SECONDS: "2",
    // A lock of 2 s, renewed every second; a stall check every 2 s.
    TRANSCODER_STALLED_INTERVAL_SECONDS: "2",
    TRANSCODER_METRICS_PORT: "0",
    ...env,
  });
  const lines: string[] = [];
  const log = pino({ level: "info", base: { worker: name } }, { write: (line: string) => lines.push(line) });
  const connections = [
    new Redis(redisUrl, { maxRetriesPerRequest: null }),
    new Redis(redisUrl, { maxRetriesPerRequest: null }),
  ];
  const outcomes: JobOutcome[] = [];
  const farm = startTranscodeWorker({
    config,
    connection: connections[0]!,
    redis: connections[1]!,
    storage: openMediaStorage(config.storage, join(scratch, name)),
    log,
    hwaccel: "none",
    onJobFinished: (outcome) => outcomes.push(outcome),
  });
  workers.push({ farm, connections });
  return { farm, outcomes, connections, logs: () => lines.join("") };
}

/** Pids of the FFmpeg processes whose command line names `path` (an attempt's staging). */
function ffmpegWriting(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = (() => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      } catch {
        return [];
      }
    })();
    if (commandLine.some((arg) => arg.endsWith("ffmpeg")) && commandLine.some((arg) => arg.includes(path)))
      pids.push(Number(entry));
  }
  return pids;
}

const stagingOf = (mediaRoot: string) => {
  const dir = join(mediaRoot, ".staging");
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
};

/** The first attempt staging folder an FFmpeg writes into, with the pids writing it. */
function encodingAttempt(what: string): Promise<{ path: string; pids: number[] }> {
  return eventually(
    what,
    async () => {
      for (const path of stagingOf(api.config.mediaRoot)) {
        const pids = ffmpegWriting(path);
        if (pids.length > 0) return { path, pids };
      }
      return undefined;
    },
    60_000,
  );
}

test("a worker cut off from Redis stops its FFmpeg by itself once its lock has expired and says nothing; the worker that took over publishes, the video ends ready", async () => {
  const source = await farmSource(scratch, "takeover.mp4", 12);
  const video = await uploadFile(api, admin, source);

  // A: slow on purpose (two rungs, a slow preset), so its FFmpeg still runs when the lock lapses.
  const a = startWorker("worker-a", `redis://${partition.hostname}:${partition.port}`, {
    TRANSCODER_LADDER: "360,720",
    TRANSCODER_PRESET: "slower",
  });
  const attemptA = await encodingAttempt("worker A's FFmpeg writing into its attempt's staging");

  // A's link to Redis goes silent and stays so: no renewal, no BullMQ event reaches A. One lock duration
  // (2 s) after its last renewal the lock has expired in Redis, and A's own watchdog stops it.
  partition.cut();
  await eventually(
    "worker A to drop its attempt while still cut off",
    async () => a.outcomes.length > 0,
    30_000,
  );
  expect(a.outcomes).toEqual(["lost"]);
  expect(a.logs()).toContain("lost the job's lock: stopping FFmpeg");
  expect(a.logs()).toContain("no lock renewal succeeded for");
  expect(ffmpegWriting(attemptA.path)).toEqual([]);
  for (const pid of attemptA.pids) expect(existsSync(`/proc/${pid}/cmdline`)).toBe(false);
  expect(existsSync(attemptA.path)).toBe(false);

  // Still cut off: B's stall check hands the job to B, in a staging of its own attempt.
  const b = startWorker("worker-b", api.config.redisUrl, {
    TRANSCODER_LADDER: "360",
    TRANSCODER_PRESET: "ultrafast",
  });
  await eventually(
    "worker B to take the job over",
    async () => stagingOf(api.config.mediaRoot).some((path) => path !== attemptA.path),
    30_000,
  );
  const ready = await untilState(admin, video.id, "ready", 120_000);
  expect(ready.processing_error).toBeNull();
  expect(b.outcomes).toEqual(["ready"]);
  // Back online, what A held back reaches Redis (its failed attempt, refused: the job is B's) and
  // changes nothing.
  partition.heal();
  await a.connections[1]!.ping();
  expect(a.outcomes).toEqual(["lost"]);
  expect((await untilState(admin, video.id, "ready", 10_000)).processing_error).toBeNull();
  // B's tree is the one published (its single rung), whole.
  const tree = join(api.config.mediaRoot, outputPrefixFor(video.id, 1));
  expect(readdirSync(tree).sort()).toContain("master.m3u8");
  expect(existsSync(join(tree, "360p", "index.m3u8"))).toBe(true);
  expect(existsSync(join(tree, "720p"))).toBe(false);
  // Nothing of A's reached the api: one processing report each, one ready, no error.
  const connection = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  const events = videoEventsQueue(connection);
  const reports = (await events.getJobs(["completed", "waiting", "failed"], 0, -1, true)).map(
    (job) => (job.data as TranscodeReport).type,
  );
  await events.close();
  connection.disconnect();
  expect(reports.filter((type) => type !== "processing")).toEqual(["ready"]);
  expect(stagingOf(api.config.mediaRoot)).toEqual([]);
}, 240_000);

test("a takeover by the same process (concurrency 2) waits for the earlier attempt to wind down, then keeps its lock to the end", async () => {
  // The first test's workers are done: only C may take this job.
  for (const { farm } of workers) await farm.close(0).catch(() => {});
  const source = await farmSource(scratch, "same-process.mp4", 12);
  const video = await uploadFile(api, admin, source);
  const c = startWorker("worker-c", api.config.redisUrl, {
    TRANSCODER_CONCURRENCY: "2",
    TRANSCODER_LADDER: "360",
    TRANSCODER_PRESET: "veryfast",
  });
  const first = await encodingAttempt("worker C's first attempt encoding");
  // The first attempt's FFmpeg is frozen, so that attempt winds down only at the SIGKILL, 3 s after its
  // abort. Its lock is taken away and the job put on the stall check's list (what a check does with
  // every active job; a renewal takes it off): the renewal fails, and C's next stall check, within
  // 2 s, hands the job to C's free slot while the first attempt still runs.
  for (const pid of first.pids) process.kill(pid, "SIGSTOP");
  const redis = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  const jobId = transcodeJobId(video.id, 1);
  expect(await redis.del(`bull:${TRANSCODE_QUEUE}:${jobId}:lock`)).toBe(1);
  await redis.sadd(`bull:${TRANSCODE_QUEUE}:stalled`, jobId);
  redis.disconnect();

  const ready = await untilState(admin, video.id, "ready", 120_000);
  expect(ready.processing_error).toBeNull();
  // The claim that came while the first attempt still ran here was handed back, not run beside it.
  expect(c.logs()).toContain(
    "job claimed while its earlier attempt winds down here: handed back for a moment",
  );
  // One attempt lost (the first), none of the later ones: the holder kept its lock renewed to the end.
  expect(c.outcomes.filter((outcome) => outcome === "lost")).toHaveLength(1);
  expect(c.outcomes.at(-1)).toBe("ready");
  expect(c.outcomes.filter((outcome) => outcome === "ready")).toHaveLength(1);
  expect(stagingOf(api.config.mediaRoot)).toEqual([]);
}, 240_000);
