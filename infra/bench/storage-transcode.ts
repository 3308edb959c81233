// Part 1 of `bun run bench:storage`: one 1080p job through the real worker (transcoder/worker.ts, a
// BullMQ job on a Redis of its own), once on the local driver and once on the S3 driver. The driver
// is wrapped so that the worker's own calls to fetchToLocal and publishDirectory are timed; bytes moved
// are the source's size (downloaded) and the sum of the published objects' sizes (uploaded).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import Redis from "ioredis";
import pino from "pino";
import type { TranscodeResult } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, type TranscodeJob, transcodeJobId } from "../../contract/transcode-jobs.ts";
import { testRedisUrl } from "../../dev/services.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { startTranscodeWorker } from "../../transcoder/worker.ts";

export interface JobRun {
  driver: "local" | "s3";
  wallSeconds: number;
  downloadSeconds: number;
  encodeSeconds: number;
  publishSeconds: number;
  /** Bytes of the source the worker read over the network (0: it read the file where it was). */
  downloadedBytes: number;
  /** Sum of the published objects' sizes, when they were uploaded (0: a rename). */
  uploadedBytes: number;
  outputBytes: number;
  outputObjects: number;
  result: TranscodeResult;
}

interface Phases {
  downloadSeconds: number;
  publishSeconds: number;
}

/** The driver as the worker sees it, with its two transfer steps timed. */
function timed(storage: MediaStorage, phases: Phases): MediaStorage {
  const clock = async <T>(add: (seconds: number) => void, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      add((performance.now() - started) / 1000);
    }
  };
  return {
    kind: storage.kind,
    putStream: (key, body, options) => storage.putStream(key, body, options),
    stat: (key) => storage.stat(key),
    fetchToLocal: (key, dir, onProgress) =>
      clock(
        (s) => {
          phases.downloadSeconds += s;
        },
        () => storage.fetchToLocal(key, dir, onProgress),
      ),
    createStagingDir: (label) => storage.createStagingDir(label),
    discardStaging: (label) => storage.discardStaging(label),
    publishDirectory: (dir, prefix, onProgress, signal) =>
      clock(
        (s) => {
          phases.publishSeconds += s;
        },
        () => storage.publishDirectory(dir, prefix, onProgress, signal),
      ),
    putFile: (path, key) => storage.putFile(path, key),
    deletePrefix: (prefix) => storage.deletePrefix(prefix),
    list: (prefix) => storage.list(prefix),
    readStream: (key) => storage.readStream(key),
    readText: (key) => storage.readText(key),
    deliver: (key, expiresIn) => storage.deliver(key, expiresIn),
    presign: (key, expiresIn) => storage.presign(key, expiresIn),
    sweepStaging: (doomed) => storage.sweepStaging(doomed),
    sweepUploads: (maxIdleMs) => storage.sweepUploads(maxIdleMs),
  };
}

/** Uploads `sourcePath` as the job's source (untimed: that is the api's part), then runs the job. */
export async function runTranscodeJob(options: {
  storage: MediaStorage;
  storageEnv: Record<string, string>;
  sourcePath: string;
  videoId: number;
  outputPrefix: string;
  preset: string;
}): Promise<JobRun> {
  const { storage, videoId, outputPrefix } = options;
  const sourceKey = `sources/bench-${videoId}.mp4`;
  const source = Bun.file(options.sourcePath);
  await storage.putStream(sourceKey, source.stream(), { maxBytes: source.size });

  const redisUrl = await testRedisUrl();
  const scratch = mkdtempSync(join(tmpdir(), "vf-bench-worker-"));
  const config = loadTranscoderConfig({
    REDIS_URL: redisUrl,
    ...options.storageEnv,
    TRANSCODER_SCRATCH: scratch,
    TRANSCODER_PRESET: options.preset,
    TRANSCODER_NAME: `bench-${storage.kind}`,
    TRANSCODER_METRICS_PORT: "0",
  });
  const phases: Phases = { downloadSeconds: 0, publishSeconds: 0 };
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const eventsConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, { connection: queueConnection });
  const events = new QueueEvents(TRANSCODE_QUEUE, { connection: eventsConnection });
  const farm = startTranscodeWorker({
    config,
    connection,
    redis,
    storage: timed(storage, phases),
    log: pino({ level: "silent" }),
    hwaccel: "none",
  });
  try {
    await events.waitUntilReady();
    const started = performance.now();
    const job = await queue.add(
      "transcode",
      { videoId, revision: 1, sourceKey, outputPrefix },
      { jobId: transcodeJobId(videoId, 1), attempts: 1 },
    );
    const result = await job.waitUntilFinished(events);
    const wallSeconds = (performance.now() - started) / 1000;
    let outputBytes = 0;
    let outputObjects = 0;
    for await (const object of storage.list(`${outputPrefix}/`)) {
      outputBytes += object.size;
      outputObjects++;
    }
    const moved = storage.kind === "s3";
    return {
      driver: storage.kind,
      wallSeconds,
      downloadSeconds: phases.downloadSeconds,
      publishSeconds: phases.publishSeconds,
      encodeSeconds: wallSeconds - phases.downloadSeconds - phases.publishSeconds,
      downloadedBytes: moved ? source.size : 0,
      uploadedBytes: moved ? outputBytes : 0,
      outputBytes,
      outputObjects,
      result,
    };
  } finally {
    await farm.close(2000);
    await events.close();
    await queue.close();
    for (const client of [connection, redis, queueConnection, eventsConnection]) client.disconnect();
    rmSync(scratch, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Prints every run and the mean per driver; returns the last S3 run (its tree is what part 2 serves). */
export function printJobRuns(runs: readonly JobRun[], sourceBytes: number): JobRun {
  const row = (label: string, of: readonly JobRun[]) => {
    const avg = (pick: (run: JobRun) => number) => mean(of.map(pick));
    return {
      run: label,
      "wall s": avg((r) => r.wallSeconds).toFixed(1),
      "download s": avg((r) => r.downloadSeconds).toFixed(2),
      "probe+encode+verify+thumbs s": avg((r) => r.encodeSeconds).toFixed(1),
      "publish s": avg((r) => r.publishSeconds).toFixed(2),
      "downloaded MB": mb(avg((r) => r.downloadedBytes)),
      "uploaded MB": `${mb(avg((r) => r.uploadedBytes))} (${of[0]!.outputObjects} objects)`,
    };
  };
  const local = runs.filter((run) => run.driver === "local");
  const s3 = runs.filter((run) => run.driver === "s3");
  console.table([
    ...runs.map((run, i) => row(`${i + 1}. ${run.driver}`, [run])),
    row("mean local", local),
    row("mean s3", s3),
  ]);
  const last = s3[s3.length - 1]!;
  const transferSeconds = mean(s3.map((r) => r.downloadSeconds + r.publishSeconds));
  console.log(
    `source ${mb(sourceBytes)} MB, outputs ${mb(last.outputBytes)} MB in ${last.outputObjects} objects; ` +
      `S3 transfers ${transferSeconds.toFixed(2)} s per job = ${((last.downloadedBytes + last.uploadedBytes) / 1e6 / transferSeconds).toFixed(0)} MB/s over loopback`,
  );
  const ratio = mean(s3.map((r) => r.wallSeconds)) / mean(local.map((r) => r.wallSeconds));
  console.log(`wall time S3 / local = ${ratio.toFixed(3)} (means of ${s3.length} jobs each)`);
  return last;
}
