// The ladder in one FFmpeg: decode once, encode every rung, the HLS muxer writes the tree. Its encode
// deadline, and the errors of a failed run told as the upload's fault, a full disk or this host's.
import { saysNoSpace } from "../storage/no-space.ts";
import { DEFAULT_ENCODE_TIMEOUT, EncodeDeadline, type EncodeTimeoutSettings } from "./encode-deadline.ts";
import { buildLadderCommand, type LadderCommandInput, usesGpuDecode } from "./ffmpeg-args.ts";
import { failOnFfmpegError } from "./ffmpeg-failure.ts";
import { cancelled, runProcess } from "./ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "./log.ts";
import type { SourceFacts } from "./probe.ts";
import { type FfmpegProgress, ProgressParser } from "./progress.ts";

export interface OnePassInput extends Omit<LadderCommandInput, "source"> {
  source: SourceFacts;
  signal?: AbortSignal;
  log?: TranscodeLog;
  encodeTimeout?: EncodeTimeoutSettings;
  onProgress?: (progress: FfmpegProgress) => void;
}

export async function encodeLadderInOnePass(input: OnePassInput): Promise<void> {
  const { source, signal } = input;
  const log = input.log ?? silentLog;
  const hwaccel = input.hwaccel ?? "none";
  const argv = buildLadderCommand(input);
  log.debug({ argv, gpu_decode: usesGpuDecode({ source, hwaccel }) }, "starting FFmpeg");
  const deadline = new EncodeDeadline(
    input.encodeTimeout ?? DEFAULT_ENCODE_TIMEOUT,
    source.durationSeconds,
    Date.now(),
  );
  const parser = new ProgressParser((progress) => {
    deadline.observe(progress, Date.now());
    input.onProgress?.(progress);
  });
  const result = await runProcess(argv, {
    signal,
    watchdog: deadline,
    onStdout: (chunk) => parser.push(chunk),
  });
  if (result.aborted) throw cancelled(signal);
  // A full disk is said as such even when it also made the run overrun (failOnFfmpegError).
  if (result.timedOut && deadline.reason && !saysNoSpace(result.stderr)) {
    log.warn({ stderr: result.stderr.slice(-4000), reason: deadline.reason }, "FFmpeg overran its deadline");
    throw new Error(deadline.reason);
  }
  failOnFfmpegError(result, parser.latest.outTimeSeconds, source, log);
  if (result.stderr.trim()) log.debug({ stderr: result.stderr.slice(-8000) }, "FFmpeg warnings");
  log.info({ speed: parser.latest.speed }, "one-pass ladder done");
}
