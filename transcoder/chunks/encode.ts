// Running one piece of a chunked ladder: a chunk of video, the film's sound, or the stitch. Each writes
// its file under a temporary name and renames it into place once FFmpeg succeeded, so a file at its
// final name is always whole: a replica killed mid-chunk leaves only a `.part` nobody stitches.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { StorageFullError, saysNoSpace } from "../../storage/no-space.ts";
import { DEFAULT_ENCODE_TIMEOUT, EncodeDeadline, type EncodeTimeoutSettings } from "../encode-deadline.ts";
import { failOnFfmpegError } from "../ffmpeg-failure.ts";
import { cancelled, lastMeaningfulLine, runProcess } from "../ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "../log.ts";
import { ProgressParser } from "../progress.ts";
import { checkChunkStart } from "./chunk-start.ts";
import {
  type AudioCommandInput,
  buildAudioCommand,
  buildChunkCommand,
  buildStitchCommand,
  type ChunkCommandInput,
  type StitchCommandInput,
} from "./commands.ts";
import { chunkSeconds } from "./plan.ts";

export interface PieceOptions {
  signal?: AbortSignal;
  log?: TranscodeLog;
  /** 0–1 of this piece and FFmpeg's speed, on every progress block. */
  onProgress?: (fraction: number, speed: number | null) => void;
  encodeTimeout?: EncodeTimeoutSettings;
}

/** Film seconds covered by one run: where it starts, where it ends (for progress and the deadline). */
interface Span {
  fromSeconds: number;
  toSeconds: number;
}

/** Encodes one chunk of every rung into `input.outputPath`; `videoSeconds` ends the last chunk. */
export async function encodeChunk(
  input: ChunkCommandInput & { videoSeconds: number },
  options: PieceOptions = {},
): Promise<void> {
  const { chunk, videoSeconds } = input;
  const span = { fromSeconds: chunk.startSeconds, toSeconds: chunk.startSeconds };
  span.toSeconds += chunkSeconds(chunk, videoSeconds);
  const frameRate = input.ladder[0]?.frameRate ?? input.source.frameRate;
  await runPiece(
    (outputPath) => buildChunkCommand({ ...input, outputPath }),
    input.outputPath,
    span,
    options,
    (partPath) => checkChunkStart(partPath, chunk, frameRate),
  );
}

/** Encodes the sound of the whole film into `input.outputPath`. */
export async function encodeAudio(
  input: AudioCommandInput & { durationSeconds: number },
  options: PieceOptions = {},
): Promise<void> {
  const span = { fromSeconds: 0, toSeconds: input.durationSeconds };
  await runPiece(
    (outputPath) => buildAudioCommand({ ...input, outputPath }),
    input.outputPath,
    span,
    options,
  );
}

/** Muxes the chunks and the sound into the HLS tree under `input.outputDir` (streams copied). */
export async function stitchLadder(
  input: StitchCommandInput & { durationSeconds: number },
  options: PieceOptions = {},
): Promise<void> {
  await mkdir(input.outputDir, { recursive: true });
  for (const path of [...input.chunkPaths, ...(input.audioPath ? [input.audioPath] : [])]) {
    // A missing piece is this job's bug or a lost scratch file, never the upload's fault.
    if (
      !(await stat(path).then(
        (file) => file.size > 0,
        () => false,
      ))
    )
      throw new Error(`cannot stitch: ${path} is missing or empty`);
  }
  const span = { fromSeconds: 0, toSeconds: input.durationSeconds };
  const { argv, cwd } = stitchInvocation(input);
  const result = await run(argv, span, options, cwd);
  // The stitch reads only our own intermediates: whatever FFmpeg says ("Invalid data", "corrupt"), a
  // failure here is this host's (retried), never the upload's.
  if (result.exitCode === 0) return;
  options.log?.warn(
    { exit_code: result.exitCode, signal: result.signalCode, stderr: result.stderr },
    "FFmpeg failed",
  );
  if (result.signalCode !== null) throw new Error(`the stitch's FFmpeg was killed by ${result.signalCode}`);
  throw new Error(`the stitch failed (FFmpeg exit ${result.exitCode}): ${lastMeaningfulLine(result.stderr)}`);
}

/**
 * The stitch's command and folder. The chunks are one `concat:a|b|…` argument, and Linux caps one
 * argument at 128 KiB (about 2,000 absolute paths): chunks that share a folder are named relative to
 * it, FFmpeg run there (chunk_00000.ts: some 8,000 chunks, 130 hours of film in 60 s chunks).
 */
export function stitchInvocation(input: StitchCommandInput): { argv: string[]; cwd?: string } {
  const folder = dirname(resolve(input.chunkPaths[0] ?? "."));
  const together = input.chunkPaths.every((path) => dirname(resolve(path)) === folder);
  const argv = buildStitchCommand({
    ...input,
    chunkPaths: input.chunkPaths.map((path) => (together ? basename(path) : resolve(path))),
    audioPath: input.audioPath === null ? null : resolve(input.audioPath),
    outputDir: resolve(input.outputDir),
  });
  return together ? { argv, cwd: folder } : { argv };
}

async function runPiece(
  command: (outputPath: string) => string[],
  outputPath: string,
  span: Span,
  options: PieceOptions,
  check?: (partPath: string) => Promise<void>,
): Promise<void> {
  await mkdir(dirname(outputPath), { recursive: true });
  const partPath = `${outputPath}.part`;
  try {
    const result = await run(command(partPath), span, options);
    // The upload's fault (InputError) is told by the film time it got to, as the one-pass ladder does;
    // short or not is judged on the piece's own length (against the film's, the tolerance of 2 % of
    // the film let a chunk at 3600 s stop 73 s early).
    const reached = Math.max(result.reachedSeconds, span.fromSeconds);
    const piece = { durationSeconds: span.toSeconds, fromSeconds: span.fromSeconds };
    failOnFfmpegError(result, reached, piece, options.log);
    if (
      !(await stat(partPath).then(
        (file) => file.size > 0,
        () => false,
      ))
    )
      throw new Error(`FFmpeg wrote nothing for film seconds ${span.fromSeconds}–${span.toSeconds}`);
    await check?.(partPath);
    await rename(partPath, outputPath);
  } finally {
    await rm(partPath, { force: true });
  }
}

/** Runs FFmpeg with progress over `span` and the encode deadline; a cancelled run rejects. */
async function run(argv: string[], span: Span, options: PieceOptions, cwd?: string) {
  const log = options.log ?? silentLog;
  const seconds = Math.max(0.001, span.toSeconds - span.fromSeconds);
  const deadline = new EncodeDeadline(options.encodeTimeout ?? DEFAULT_ENCODE_TIMEOUT, seconds, Date.now());
  // FFmpeg's out_time is the film time written (the pieces keep the film's timestamps).
  const parser = new ProgressParser((progress) => {
    const done = Math.max(0, progress.outTimeSeconds - span.fromSeconds);
    deadline.observe({ outTimeSeconds: done, speed: progress.speed }, Date.now());
    options.onProgress?.(progress.done ? 1 : Math.min(1, done / seconds), progress.speed);
  });
  log.debug({ argv }, "starting FFmpeg");
  const result = await runProcess(argv, {
    signal: options.signal,
    watchdog: deadline,
    onStdout: (chunk) => parser.push(chunk),
    cwd,
  });
  if (result.aborted) throw cancelled(options.signal);
  if (result.timedOut && deadline.reason && !saysNoSpace(result.stderr)) throw new Error(deadline.reason);
  if (saysNoSpace(result.stderr)) throw new StorageFullError();
  return { ...result, reachedSeconds: parser.latest.outTimeSeconds };
}
