// Does the source really decode from start to end? ffprobe only reads headers: an MP4 cut off during
// upload still declares its full duration when its index sits at the front. Decoding two seconds at
// each end is cheap; only when the end does not decode is the whole file read to find where it stops.
import { InputError } from "./errors.ts";
import { cancelled, runProcess } from "./ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "./log.ts";
import type { SourceFacts } from "./probe.ts";
import { formatTimestamp } from "./probe.ts";
import { ProgressParser } from "./progress.ts";
import { sourceInputArgs } from "./source-input.ts";

/** Seconds decoded at the start and at the end of the video. */
const WINDOW_SECONDS = 2;
/** A video that stops this close to its declared end is complete enough (container timing varies). */
const END_TOLERANCE_SECONDS = 1;
const STRETCH_TIMEOUT_MS = 120_000;
const FULL_READ_TIMEOUT_MS = 30 * 60_000;

export interface DecodeCheckOptions {
  log?: TranscodeLog;
  signal?: AbortSignal;
  /** The demuxer the probe found (source-input.ts); without it only the safe ones may be detected. */
  demuxer?: string | null;
}

/** Throws InputError when the video does not decode at its start or stops before its declared end. */
export async function verifyDecodes(
  sourcePath: string,
  facts: Pick<SourceFacts, "durationSeconds" | "videoDurationSeconds"> & { demuxer?: string },
  checkOptions: DecodeCheckOptions = {},
): Promise<void> {
  const options = { demuxer: facts.demuxer, ...checkOptions };
  const log = options.log ?? silentLog;
  const end = facts.videoDurationSeconds ?? facts.durationSeconds;
  const headSeconds = Math.min(WINDOW_SECONDS, end);
  const head = await decodeStretch(sourcePath, 0, headSeconds, options);
  if (head.frames === 0) {
    log.info(
      { exit_code: head.exitCode, stderr: head.stderr.slice(-4000) },
      "the start of the video does not decode",
    );
    throw new InputError(
      "The video cannot be decoded: its picture data is damaged or in an unsupported format",
    );
  }
  let reached = head.reachedSeconds;
  if (end > headSeconds) {
    const start = end - WINDOW_SECONDS;
    const tail = await decodeStretch(sourcePath, start, undefined, options);
    // A seek beyond the data decodes nothing: then read the whole file to find where it stops.
    reached = tail.frames > 0 ? start + tail.reachedSeconds : await readableSeconds(sourcePath, options);
    if (reached < end - END_TOLERANCE_SECONDS) {
      log.info(
        { stderr: tail.stderr.slice(-4000), reached, declared: end },
        "the end of the video does not decode",
      );
    }
  }
  if (reached < end - END_TOLERANCE_SECONDS) {
    throw new InputError(
      `The file is truncated at ${formatTimestamp(reached)} (the video should last ${formatTimestamp(end)})`,
    );
  }
}

interface Stretch {
  frames: number;
  /** Media seconds decoded from `start`. */
  reachedSeconds: number;
  exitCode: number | null;
  stderr: string;
}

async function decodeStretch(
  sourcePath: string,
  start: number,
  seconds: number | undefined,
  options: DecodeCheckOptions,
): Promise<Stretch> {
  const parser = new ProgressParser();
  const argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error"];
  if (start > 0) argv.push("-ss", start.toFixed(3));
  argv.push(...sourceInputArgs(sourcePath, options.demuxer), "-map", "0:v:0", "-an", "-sn", "-dn");
  if (seconds !== undefined) argv.push("-t", seconds.toFixed(3));
  argv.push("-f", "null", "-progress", "pipe:1", "-nostats", "-");
  const result = await runProcess(argv, {
    timeoutMs: STRETCH_TIMEOUT_MS,
    signal: options.signal,
    onStdout: (chunk) => parser.push(chunk),
  });
  if (result.aborted) throw cancelled(options.signal);
  if (result.timedOut) throw new Error("the decode check took too long");
  return {
    frames: parser.latest.frame,
    reachedSeconds: parser.latest.outTimeSeconds,
    exitCode: result.exitCode,
    stderr: result.stderr,
  };
}

/** Seconds of video that can be read from the file, by copying its packets (no decoding) to nowhere. */
export async function readableSeconds(sourcePath: string, options: DecodeCheckOptions = {}): Promise<number> {
  const parser = new ProgressParser();
  const result = await runProcess(
    [
      ...["ffmpeg", "-nostdin", "-hide_banner", "-v", "error"],
      ...sourceInputArgs(sourcePath, options.demuxer),
      ...["-map", "0:v:0", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-nostats", "-"],
    ],
    { timeoutMs: FULL_READ_TIMEOUT_MS, signal: options.signal, onStdout: (chunk) => parser.push(chunk) },
  );
  if (result.aborted) throw cancelled(options.signal);
  if (result.timedOut) throw new Error("reading the source took too long");
  return parser.latest.outTimeSeconds;
}
