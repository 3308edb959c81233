// One run of a transcoding farm for the farm benches (bench:farm, bench:source-cache): real
// transcoder processes, each pinned to its own core with taskset where the machine has two, take one
// film's job from the queue; the run's wall time, its pieces (BullMQ's records: which replica, when) and
// the replicas' JSON log lines come back, and `timeline` prints the pieces so that idle time shows.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { outputPrefixFor } from "../../contract/media.ts";
import { transcodeJobId } from "../../contract/transcode-jobs.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

const ROOT = join(import.meta.dir, "../..");
export const pinned = availableParallelism() >= 2 && Bun.which("taskset") !== null;
export const since = (start: number) => (performance.now() - start) / 1000;

/** A 1080p30 film of `seconds` with real motion (moving pattern + noise, 16 Mb/s) and a tone. */
export async function generateFilm(path: string, seconds: number): Promise<void> {
  const started = performance.now();
  const result = await runProcess([
    ...["ffmpeg", "-nostdin", "-v", "error", "-y"],
    ...[
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=1920x1080:r=30:d=${seconds}`,
      "-f",
      "lavfi",
      "-i",
      `sine=f=220:d=${seconds}`,
    ],
    ...["-vf", "noise=alls=8:allf=t+u", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "16M"],
    ...["-maxrate", "20M", "-bufsize", "32M", "-c:a", "aac", "-b:a", "192k", "-shortest", path],
  ]);
  if (result.exitCode !== 0) throw new Error(`source generation failed: ${result.stderr.slice(-500)}`);
  console.log(
    `source: ${seconds} s 1080p30, moving pattern + noise, 16 Mb/s (made in ${since(started).toFixed(0)} s)`,
  );
}

export interface Run {
  label: string;
  videoId: number;
  wallSeconds: number;
  /** Each piece's run, from the replicas' "piece started" and "piece encoded" lines (pieces are removed as they finish). */
  pieces: PieceSpan[];
  stitchSeconds: number | null;
  /** Every replica's log, as parsed JSON lines, each with the replica's name added (`replica`). */
  logLines: Record<string, unknown>[];
}

export interface PieceSpan {
  /** The piece's job id. */
  id: string;
  replica: string;
  /** Epoch ms. */
  start: number;
  end: number;
}

export interface FarmRunOptions {
  queue: Queue;
  redisUrl: string;
  label: string;
  videoId: number;
  replicas: number;
  /** The film's key on the media storage. */
  sourceKey: string;
  /** The storage (MEDIA_ROOT or STORAGE_URL and S3_*) and any other setting of the replicas. */
  env: Record<string, string>;
}

export async function farmRun(options: FarmRunOptions): Promise<Run> {
  const { queue, redisUrl, label, videoId, replicas, env } = options;
  const logs: string[][] = Array.from({ length: replicas }, () => []);
  const processes = Array.from({ length: replicas }, (_, core) => {
    const argv = [process.execPath, "transcoder/main.ts"];
    const child = Bun.spawn(pinned ? ["taskset", "-c", String(core), ...argv] : argv, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        REDIS_URL: redisUrl,
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
      for await (const bytes of child.stdout) logs[core]!.push(new TextDecoder().decode(bytes));
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
      { videoId, revision: 1, sourceKey: options.sourceKey, outputPrefix: outputPrefixFor(videoId, 1) },
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
  const logLines: Record<string, unknown>[] = logs.flatMap((chunks, core) =>
    chunks
      .join("")
      .split("\n")
      .flatMap((line) =>
        line.startsWith("{")
          ? [{ ...(JSON.parse(line) as Record<string, unknown>), replica: `${label}-${core}` }]
          : [],
      ),
  );
  const pieces = piecesOf(logLines, videoId);
  // The film job's second run logs the stitch as its "ladder encoded" (chunks > 0).
  const stitched = logLines.find((line) => line.msg === "ladder encoded" && Number(line.chunks) > 0);
  console.log(
    `${label}: ${wallSeconds.toFixed(1)} s wall${pieces.length ? `, ${pieces.length} pieces` : ""}`,
  );
  const stitchSeconds = typeof stitched?.seconds === "number" ? stitched.seconds : null;
  return { label, videoId, wallSeconds, pieces, stitchSeconds, logLines };
}

/** A replica's log line's time, epoch ms. */
const at = (line: Record<string, unknown>) => Date.parse(String(line.time));

/** The pieces of the film's flow, each from its (last) "piece started" to its "piece encoded". */
function piecesOf(lines: Record<string, unknown>[], videoId: number): PieceSpan[] {
  const started = new Map<string, Record<string, unknown>>();
  const spans: PieceSpan[] = [];
  for (const line of lines) {
    if (line.video_id !== videoId) continue;
    const id = String(line.job_id);
    if (line.msg === "piece started") started.set(id, line);
    const start = started.get(id);
    if (line.msg === "piece encoded" && start)
      spans.push({ id, replica: String(line.replica), start: at(start), end: at(line) });
  }
  return spans;
}

export function timeline(run: Run): void {
  const pieces = [...run.pieces].sort((a, b) => a.start - b.start);
  const origin = Math.min(...pieces.map((piece) => piece.start));
  const byReplica = new Map<string, PieceSpan[]>();
  console.log(`\n${run.label}: piece timeline (seconds from the first piece's start)`);
  for (const span of pieces) {
    byReplica.set(span.replica, [...(byReplica.get(span.replica) ?? []), span]);
    // Piece ids end in `chunk-NNNNN` or `audio`.
    const piece = span.id.endsWith("-audio") ? "audio" : span.id.split("-").slice(-2).join("-");
    const start = (span.start - origin) / 1000;
    const end = (span.end - origin) / 1000;
    console.log(
      `  ${piece.padEnd(12)} ${span.replica.padEnd(24)} ${start.toFixed(1).padStart(7)} → ${end.toFixed(1).padStart(7)}`,
    );
  }
  const gaps = [...byReplica.values()].flatMap((list) =>
    list.slice(1).map((span, i) => (span.start - list[i]!.end) / 1000),
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

/** What the film's own job logs, in order: where its serial time (outside the pieces) goes. */
const STAGE_LINES = [
  "job claimed",
  "source probed, ladder chosen",
  "film cut into pieces for the farm",
  "waiting for the film's pieces",
  "ladder encoded",
  "progressive MP4s remuxed",
  "job ready",
];

/**
 * The film job's log lines with their time from its first claim: the gaps are its stages (probe and
 * decode check, the wait for the pieces or the one-pass encode, stitch, verify and remux, thumbnails
 * and publishing between the remux and `job ready`).
 */
export function stages(run: Run): void {
  const jobId = transcodeJobId(run.videoId, 1);
  const lines = run.logLines.filter(
    (line) => line.job_id === jobId && STAGE_LINES.includes(String(line.msg)),
  );
  if (lines.length === 0) return;
  const origin = at(lines[0]!);
  console.log(`\n${run.label}: the film job's stages (seconds from its first claim)`);
  let previous = origin;
  for (const line of lines) {
    const time = at(line);
    console.log(
      `  ${((time - origin) / 1000).toFixed(1).padStart(7)}  (+${((time - previous) / 1000).toFixed(1).padStart(6)})  ${String(line.msg).padEnd(36)} ${line.replica}`,
    );
    previous = time;
  }
}
