// `bun run bench:farm`: one long film across the farm (issue 14). A generated 1080p30 source (moving
// pattern + noise, BENCH_SECONDS long, 4 minutes by default) is transcoded by real transcoder processes
// on one Redis and media root, each pinned to its own core with taskset: once with CHUNKING=off on one
// replica (today's one-job ladder, the reference), then chunked on one replica, then chunked on two.
// Printed: wall times and their ratios (goal: 2 replicas ≤ 0.55× of 1), SSIM per rung against the
// source for the one-job and the two-replica ladders (goal: within 0.002), whether the media playlists
// are the same text, audio against video duration, the stitch's cost, and every piece's timeline
// (which replica, start, end) so that idle time shows.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type Job, Queue } from "bullmq";
import Redis from "ioredis";
import { outputPrefixFor } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, transcodeJobId } from "../../contract/transcode-jobs.ts";
import { PIECE_JOB_NAME } from "../../contract/transcode-pieces.ts";
import { stopTestServices, testRedisUrl } from "../../dev/services.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 240);
const ROOT = join(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "vf-bench-farm-"));
const mediaRoot = join(work, "media");
const pin = availableParallelism() >= 2 && Bun.which("taskset") !== null;
const since = (start: number) => (performance.now() - start) / 1000;

interface Run {
  label: string;
  videoId: number;
  wallSeconds: number;
  pieces: Job[];
  stitchSeconds: number | null;
}

async function generateSource(path: string): Promise<void> {
  const started = performance.now();
  const result = await runProcess([
    ...["ffmpeg", "-nostdin", "-v", "error", "-y"],
    ...[
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=1920x1080:r=30:d=${SECONDS}`,
      "-f",
      "lavfi",
      "-i",
      `sine=f=220:d=${SECONDS}`,
    ],
    ...["-vf", "noise=alls=8:allf=t+u", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "16M"],
    ...["-maxrate", "20M", "-bufsize", "32M", "-c:a", "aac", "-b:a", "192k", "-shortest", path],
  ]);
  if (result.exitCode !== 0) throw new Error(`source generation failed: ${result.stderr.slice(-500)}`);
  console.log(
    `source: ${SECONDS} s 1080p30, moving pattern + noise, 16 Mb/s (made in ${since(started).toFixed(0)} s)`,
  );
}

async function farmRun(
  queue: Queue,
  redisUrl: string,
  label: string,
  videoId: number,
  replicas: number,
  env: Record<string, string>,
): Promise<Run> {
  const logs: string[] = [];
  const processes = Array.from({ length: replicas }, (_, core) => {
    const argv = [process.execPath, "transcoder/main.ts"];
    const child = Bun.spawn(pin ? ["taskset", "-c", String(core), ...argv] : argv, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        REDIS_URL: redisUrl,
        MEDIA_ROOT: mediaRoot,
        TRANSCODER_NAME: `${label}-${core}`,
        TRANSCODER_METRICS_PORT: "0",
        FAST_START: "off",
        LOG_LEVEL: "info",
        // A shared machine can run far below the expected speed: the bench measures, it does not time out.
        TRANSCODER_EXPECTED_SPEED: "0.01",
        // A shorter BENCH_SECONDS wants shorter chunks to share: both pass through.
        CHUNK_MIN_SECONDS: process.env.CHUNK_MIN_SECONDS ?? "120",
        CHUNK_SEGMENTS: process.env.CHUNK_SEGMENTS ?? "10",
        ...env,
      },
      stdout: "pipe",
      stderr: "inherit",
    });
    void (async () => {
      for await (const bytes of child.stdout) logs.push(new TextDecoder().decode(bytes));
    })();
    return child;
  });
  let wallSeconds: number;
  try {
    await Bun.sleep(2000); // every replica connected before the job exists: no head start for one
    const started = performance.now();
    const jobId = transcodeJobId(videoId, 1);
    await queue.add(
      "transcode",
      { videoId, revision: 1, sourceKey: "uploads/film.mp4", outputPrefix: outputPrefixFor(videoId, 1) },
      { jobId, attempts: 1 },
    );
    for (;;) {
      const state = await queue.getJobState(jobId);
      if (state === "completed") break;
      if (state === "failed") throw new Error(`${label}: ${(await queue.getJob(jobId))?.failedReason}`);
      await Bun.sleep(200);
    }
    wallSeconds = since(started);
  } finally {
    for (const child of processes) child.kill("SIGKILL");
    await Promise.all(processes.map((child) => child.exited));
  }
  const pieces = (await queue.getJobs(["completed"])).filter(
    (job) => job.name === PIECE_JOB_NAME && job.data.videoId === videoId,
  );
  // The film job's second run logs the stitch as its "ladder encoded" (chunks > 0).
  const stitched = logs
    .join("")
    .split("\n")
    .flatMap((line) => (line.includes('"ladder encoded"') ? [JSON.parse(line)] : []))
    .find((line) => line.chunks > 0);
  console.log(
    `${label}: ${wallSeconds.toFixed(1)} s wall${pieces.length ? `, ${pieces.length} pieces` : ""}`,
  );
  return { label, videoId, wallSeconds, pieces, stitchSeconds: stitched?.seconds ?? null };
}

async function ssim(sourcePath: string, playlist: string, width: number, height: number): Promise<number> {
  const result = await runProcess([
    ...["ffmpeg", "-nostdin", "-hide_banner", "-i", sourcePath, "-i", playlist],
    ...["-lavfi", `[0:v]scale=${width}:${height}:flags=bicubic[ref];[ref][1:v]ssim`, "-f", "null", "-"],
  ]);
  return Number(/All:([0-9.]+)/.exec(result.stderr)?.[1]);
}

async function durations(mp4: string): Promise<{ video: number; audio: number }> {
  const result = await runProcess([
    "ffprobe",
    "-v",
    "error",
    "-show_entries",
    "stream=codec_type,duration",
    "-of",
    "json",
    mp4,
  ]);
  const streams = JSON.parse(result.stdout).streams as { codec_type: string; duration: string }[];
  const of = (type: string) => Number(streams.find((stream) => stream.codec_type === type)?.duration);
  return { video: of("video"), audio: of("audio") };
}

function timeline(run: Run): void {
  const jobs = [...run.pieces].sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
  const origin = Math.min(...jobs.map((job) => job.processedOn ?? 0));
  const byReplica = new Map<string, Job[]>();
  console.log(`\n${run.label}: piece timeline (seconds from the first piece's start)`);
  for (const job of jobs) {
    const replica = job.processedBy ?? "?";
    byReplica.set(replica, [...(byReplica.get(replica) ?? []), job]);
    const piece = job.id?.split("-").slice(-2).join("-");
    const start = ((job.processedOn ?? 0) - origin) / 1000;
    const end = ((job.finishedOn ?? 0) - origin) / 1000;
    console.log(
      `  ${piece?.padEnd(12)} ${replica.padEnd(12)} ${start.toFixed(1).padStart(7)} → ${end.toFixed(1).padStart(7)}`,
    );
  }
  const gaps = [...byReplica.values()].flatMap((list) =>
    list.slice(1).map((job, i) => ((job.processedOn ?? 0) - (list[i]!.finishedOn ?? 0)) / 1000),
  );
  if (gaps.length > 0) {
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    console.log(
      `  queue overhead between a replica's pieces: mean ${(mean * 1000).toFixed(0)} ms, max ${(Math.max(...gaps) * 1000).toFixed(0)} ms`,
    );
  }
  if (run.stitchSeconds !== null)
    console.log(`  stitch (fetch, mux every rung): ${run.stitchSeconds.toFixed(2)} s`);
}

async function main() {
  const sourcePath = join(work, "film.mp4");
  await generateSource(sourcePath);
  mkdirSync(join(mediaRoot, "uploads"), { recursive: true });
  copyFileSync(sourcePath, join(mediaRoot, "uploads", "film.mp4"));
  const redisUrl = await testRedisUrl();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(TRANSCODE_QUEUE, { connection });
  console.log(`replicas pinned to their own core: ${pin ? "yes (taskset)" : "no"}`);
  const onePass = await farmRun(queue, redisUrl, "one job, 1 replica", 1, 1, { CHUNKING: "off" });
  const chunkedOne = await farmRun(queue, redisUrl, "chunked, 1 replica", 2, 1, { CHUNKING: "on" });
  const chunkedTwo = await farmRun(queue, redisUrl, "chunked, 2 replicas", 3, 2, { CHUNKING: "on" });

  console.log(
    `\n2 replicas / one job: ${(chunkedTwo.wallSeconds / onePass.wallSeconds).toFixed(3)} (goal ≤ 0.55)`,
  );
  console.log(`2 replicas / chunked on 1: ${(chunkedTwo.wallSeconds / chunkedOne.wallSeconds).toFixed(3)}`);
  console.log(
    `chunked on 1 / one job: ${(chunkedOne.wallSeconds / onePass.wallSeconds).toFixed(3)} (the cost of cutting)`,
  );
  const tree = (run: Run) => join(mediaRoot, outputPrefixFor(run.videoId, 1));
  const master = readFileSync(join(tree(onePass), "master.m3u8"), "utf8");
  const rungs = [...master.matchAll(/RESOLUTION=(\d+)x(\d+)[^\n]*\n([^\n]+)\/index\.m3u8/g)];
  console.log("\nrung    SSIM one job  SSIM 2 replicas  Δ        playlists  audio − video (s)");
  for (const [, width, height, name] of rungs) {
    const playlist = (run: Run) => join(tree(run), name!, "index.m3u8");
    const [whole, farm] = [
      await ssim(sourcePath, playlist(onePass), Number(width), Number(height)),
      await ssim(sourcePath, playlist(chunkedTwo), Number(width), Number(height)),
    ];
    const same = readFileSync(playlist(onePass), "utf8") === readFileSync(playlist(chunkedTwo), "utf8");
    const length = await durations(join(tree(chunkedTwo), name!, "progressive.mp4"));
    console.log(
      `${name!.padEnd(7)} ${whole.toFixed(5).padEnd(13)} ${farm.toFixed(5).padEnd(16)} ${(farm - whole).toFixed(5).padEnd(8)} ${(same ? "identical" : "DIFFER").padEnd(10)} ${(length.audio - length.video).toFixed(3)}`,
    );
  }
  timeline(chunkedOne);
  timeline(chunkedTwo);
  await queue.close();
  connection.disconnect();
}

try {
  await main();
} finally {
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
