// How a failed FFmpeg run is told: a full disk, the upload's fault, or this host's. Shared by the
// one-pass ladder, the fast-start pass and the chunked ladder's pieces.
import { StorageFullError, saysNoSpace } from "../storage/no-space.ts";
import { InputError } from "./errors.ts";
import { lastMeaningfulLine, type RunResult } from "./ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "./log.ts";
import { formatTimestamp, type SourceFacts } from "./probe.ts";

/** FFmpeg's words for input it could not read: the upload is at fault, not this host. */
const INPUT_FAULT =
  /Invalid data found when processing input|partial file|corrupt|Error while decoding|Invalid NAL unit|moov atom not found|truncat|Error splitting the input/i;

/**
 * Turns a failed (or silently short) FFmpeg run into the right error: a full file system (even when
 * FFmpeg exited 0), the upload's fault (InputError, shown to the uploader, never retried) or this
 * host's (a one-line Error, retried).
 */
export function failOnFfmpegError(
  result: Pick<RunResult, "exitCode" | "signalCode" | "stderr" | "timedOut">,
  encodedSeconds: number,
  /** `fromSeconds`: where a run over part of the film (a chunk) began; it is judged on its own length. */
  source: Pick<SourceFacts, "durationSeconds"> & { fromSeconds?: number },
  log: TranscodeLog = silentLog,
): void {
  if (saysNoSpace(result.stderr)) {
    log.warn({ exit_code: result.exitCode, stderr: result.stderr.slice(-4000) }, "FFmpeg ran out of space");
    throw new StorageFullError();
  }
  const inputFault = INPUT_FAULT.test(result.stderr);
  const start = source.fromSeconds ?? 0;
  const length = source.durationSeconds - start;
  const short = encodedSeconds - start < length - Math.max(1.5, length * 0.02);
  if (result.exitCode === 0 && !(short && inputFault)) return;
  log.warn({ exit_code: result.exitCode, signal: result.signalCode, stderr: result.stderr }, "FFmpeg failed");
  if (inputFault && !result.timedOut && result.signalCode === null) {
    throw new InputError(
      `The video cannot be decoded after ${formatTimestamp(encodedSeconds)}: the file is damaged from that point`,
    );
  }
  if (result.signalCode !== null) throw new Error(`FFmpeg was killed by ${result.signalCode}`);
  throw new Error(`FFmpeg exited with code ${result.exitCode}: ${lastMeaningfulLine(result.stderr)}`);
}
