// `bun run bench:storage`: the S3 driver (SeaweedFS on loopback, a throwaway bucket) against the local
// driver and against the store itself, in one run:
//   1. one 1080p job through the real worker on each driver: wall time, bytes moved, ratio S3/local;
//   2. segments the way a player gets them with S3 (presigned URLs from the api's media playlist)
//      against presigned URLs made directly with Bun's S3Client (goal ≥ 0.90), plus the cost of
//      rendering a 2-hour film's media playlist;
//   3. a multi-GiB upload into an api process on each driver: its RSS must stay flat.
// BENCH_PARTS=transcode,segments,upload picks parts; BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS (wrk),
// BENCH_UPLOAD_GIB (sizes, default "1,3"), BENCH_SOURCE_SECONDS (default 20), BENCH_PRESET (veryfast), BENCH_JOB_ROUNDS (2: local, S3, S3, local).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTokens } from "../../api/playback/tokens.ts";
import { outputPrefixFor } from "../../contract/media.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { startInProcessApi } from "../../dev/in-process-api.ts";
import { generateVideo } from "../../dev/media.ts";
import { stopTestServices, testS3 } from "../../dev/services.ts";
import { LocalMediaStorage } from "../../storage/index.ts";
import { BENCH_JWT_SECRET } from "./bench-api.ts";
import { publishReady } from "./publish.ts";
import { benchSegments } from "./storage-segments.ts";
import { type JobRun, printJobRuns, runTranscodeJob } from "./storage-transcode.ts";
import { benchUploads } from "./storage-upload.ts";
import { requireWrk } from "./wrk.ts";

const PARTS = new Set((process.env.BENCH_PARTS ?? "transcode,segments,upload").split(","));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SOURCE_SECONDS = Number(process.env.BENCH_SOURCE_SECONDS ?? 20);
const PRESET = process.env.BENCH_PRESET ?? "veryfast";
const JOB_ROUNDS = Number(process.env.BENCH_JOB_ROUNDS ?? 2);
const SOURCE = { seconds: SOURCE_SECONDS, width: 1920, height: 1080, fps: 30, audio: "stereo" } as const;
const UPLOAD_SIZES = (process.env.BENCH_UPLOAD_GIB ?? "1,3")
  .split(",")
  .map((gib) => Math.round(Number(gib) * 1024 ** 3));

if (PARTS.has("segments")) requireWrk();
const work = mkdtempSync(join(tmpdir(), "vf-bench-storage-"));
const bucket = await testS3();
console.log(`SeaweedFS ${bucket.endpoint}, bucket ${bucket.bucket}`);

try {
  if (PARTS.has("transcode") || PARTS.has("segments")) {
    const api = await startInProcessApi({
      env: { JWT_SECRET: BENCH_JWT_SECRET, LOG_LEVEL: "silent", ...bucket.env },
      consumeEvents: false,
    });
    try {
      const db = api.runtime.database.db;
      const [category] = await db.insert(categories).values({ name: "Bench" }).returning();
      const newVideo = async (title: string) => {
        const [video] = await db
          .insert(videos)
          .values({ title, categoryId: category!.id, sourceKey: `sources/${title}.mp4`, sourceBytes: 1 })
          .returning();
        return video!.id;
      };
      console.log(`\n=== 1. one 1080p job through the worker, local driver vs S3 driver`);
      console.log(`generating a ${SOURCE_SECONDS} s 1080p30 source (testsrc2 + temporal noise, stereo)…`);
      const sourcePath = await generateVideo(join(work, "source.mp4"), SOURCE);
      const sourceBytes = Bun.file(sourcePath).size;
      // A short untimed job first: the first job of a process pays for loading what every later one reuses.
      const warmRoot = join(work, "warm-up-media");
      const warmId = await newVideo("bench-warm-up");
      await runTranscodeJob({
        sourcePath: await generateVideo(join(work, "warm-up.mp4"), { ...SOURCE, seconds: 2 }),
        preset: PRESET,
        storage: new LocalMediaStorage(warmRoot),
        storageEnv: { MEDIA_ROOT: warmRoot },
        videoId: warmId,
        outputPrefix: outputPrefixFor(warmId, 1),
      });
      rmSync(warmRoot, { recursive: true, force: true });
      // ABBA order (local, S3, S3, local, …): a machine that drifts during the run favours neither.
      const runs: JobRun[] = [];
      let s3VideoId = 0;
      for (let round = 0; round < JOB_ROUNDS; round++) {
        const order = round % 2 === 0 ? (["local", "s3"] as const) : (["s3", "local"] as const);
        for (const driver of order) {
          const videoId = await newVideo(`bench-${driver}-${round}`);
          const localRoot = join(work, "local-media");
          const run = await runTranscodeJob({
            sourcePath,
            preset: PRESET,
            storage: driver === "s3" ? api.runtime.storage : new LocalMediaStorage(localRoot),
            storageEnv: driver === "s3" ? bucket.env : { MEDIA_ROOT: localRoot },
            videoId,
            outputPrefix: outputPrefixFor(videoId, 1),
          });
          console.log(`  ${driver.padEnd(5)} job ${run.wallSeconds.toFixed(1)} s`);
          runs.push(run);
          if (driver === "s3") s3VideoId = videoId;
          rmSync(localRoot, { recursive: true, force: true });
        }
      }
      const s3 = printJobRuns(runs, sourceBytes);
      const _prefix = outputPrefixFor(s3VideoId, 1);

      await publishReady(api.runtime, s3VideoId, s3.result);

      if (PARTS.has("segments")) {
        console.log(`\n=== 2. segments: the player's path with S3 vs presigned URLs straight from SeaweedFS`);
        const server = api.runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
        await benchSegments({
          runtime: api.runtime,
          apiBase: `http://127.0.0.1:${server.server!.port}`,
          mediaTokens: new MediaTokens(api.config.mediaTokenSecret, api.config.mediaTokenTtlSeconds),
          bucket,
          videoId: s3VideoId,
          work,
          seconds: SECONDS,
          rounds: ROUNDS,
          connections: CONNECTIONS,
        });
      }
    } finally {
      await api.stop();
    }
  }

  if (PARTS.has("upload")) {
    console.log(`\n=== 3. upload memory: one api process per driver, RSS sampled every 250 ms`);
    const s3Runs = await benchUploads({ storageEnv: bucket.env, sizes: UPLOAD_SIZES, work });
    const localRuns = await benchUploads({
      storageEnv: { MEDIA_ROOT: join(work, "upload-media") },
      sizes: UPLOAD_SIZES,
      work,
    });
    console.table(
      [...s3Runs, ...localRuns].map((run) => ({
        driver: run.driver,
        GiB: (run.bytes / 1024 ** 3).toFixed(2),
        "MiB/s": Math.round(run.bytes / 1024 ** 2 / run.seconds),
        "RSS start MiB": Math.round(run.startRssMiB),
        "peak MiB": Math.round(run.peakRssMiB),
        "end MiB": Math.round(run.endRssMiB),
        "peak − start MiB": Math.round(run.peakRssMiB - run.startRssMiB),
        "stored = sent": run.storedBytes === run.bytes ? "yes" : "NO",
      })),
    );
    for (const runs of [s3Runs, localRuns]) {
      const growth = runs.map((run) => run.peakRssMiB - run.startRssMiB);
      const bounded = Math.max(...growth) <= 128 && growth[growth.length - 1]! <= growth[0]! + 32;
      console.log(
        `${runs[0]!.driver}: peak − start ${growth.map((g) => g.toFixed(0)).join(" → ")} MiB for ` +
          `${runs.map((run) => (run.bytes / 1024 ** 3).toFixed(1)).join(" → ")} GiB — goal (tens of MiB, ` +
          `not growing with the size): ${bounded ? "met" : "NOT met"}`,
      );
    }
  }
} finally {
  await bucket.drop().catch(() => {});
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
