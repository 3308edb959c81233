// `bun run bench:farm`: one long film across the farm (issue 14). A generated 1080p30 source (moving
// pattern + noise, BENCH_SECONDS long, 4 minutes by default) is transcoded by real transcoder processes
// on one Redis and media root, each pinned to its own core with taskset: once with CHUNKING=off on one
// replica (today's one-job ladder, the reference), then chunked on one replica, then chunked on two.
// Printed: wall times and their ratios (goal: 2 replicas ≤ 0.55× of 1), SSIM per rung against the
// source for the one-job and the two-replica ladders (goal: within 0.002), whether the media playlists
// are the same text, audio against video duration, the stitch's cost, and every piece's timeline
// (which replica, start, end) so that idle time shows.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import { outputPrefixFor } from "../../contract/media.ts";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { stopTestServices, testRedisUrl } from "../../dev/services.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { farmRun, generateFilm, pinned, type Run, stages, timeline } from "./farm-run.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 240);
const work = mkdtempSync(join(tmpdir(), "vf-bench-farm-"));
const mediaRoot = join(work, "media");

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

async function main() {
  const sourcePath = join(work, "film.mp4");
  await generateFilm(sourcePath, SECONDS);
  mkdirSync(join(mediaRoot, "uploads"), { recursive: true });
  copyFileSync(sourcePath, join(mediaRoot, "uploads", "film.mp4"));
  const redisUrl = await testRedisUrl();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(TRANSCODE_QUEUE, { connection });
  console.log(`replicas pinned to their own core: ${pinned ? "yes (taskset)" : "no"}`);
  const run = (label: string, videoId: number, replicas: number, chunking: "on" | "off") =>
    farmRun({
      queue,
      redisUrl,
      label,
      videoId,
      replicas,
      sourceKey: "uploads/film.mp4",
      env: { MEDIA_ROOT: mediaRoot, CHUNKING: chunking },
    });
  const onePass = await run("one job, 1 replica", 1, 1, "off");
  const chunkedOne = await run("chunked, 1 replica", 2, 1, "on");
  const chunkedTwo = await run("chunked, 2 replicas", 3, 2, "on");

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
  for (const run of [onePass, chunkedOne, chunkedTwo]) stages(run);
  await queue.close();
  connection.disconnect();
}

try {
  await main();
} finally {
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
