// FFmpeg as the thumbnail passes run it: quiet, with a deadline, and a one-line error naming the step;
// an abort always rejects with the signal's own reason.
import { lastMeaningfulLine, runProcess } from "../ffmpeg-process.ts";

/** What an aborted signal rejects with: its own reason, as `signal.throwIfAborted()` would. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

/**
 * Runs FFmpeg quietly. Rejects with the signal's reason when aborted (the child is stopped first: the
 * promise settles only once it has exited), and with a one-line Error naming `what` when it fails.
 */
export async function runFfmpeg(
  args: readonly string[],
  options: { what: string; signal?: AbortSignal; timeoutMs: number },
): Promise<void> {
  const { signal, what } = options;
  if (signal?.aborted) throw abortReason(signal);
  const result = await runProcess(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", ...args], {
    signal,
    timeoutMs: options.timeoutMs,
    stderrLimit: 16 * 1024,
  });
  if (result.aborted && signal) throw abortReason(signal);
  if (result.timedOut) {
    throw new Error(`thumbnails: FFmpeg took longer than ${Math.round(options.timeoutMs / 1000)} s ${what}`);
  }
  if (result.exitCode !== 0) {
    const status = result.exitCode === null ? "was killed" : `exited with ${result.exitCode}`;
    throw new Error(`thumbnails: FFmpeg ${status} ${what}: ${lastMeaningfulLine(result.stderr)}`);
  }
}

/** `1.5` → `"1.500"`: an FFmpeg time argument with millisecond precision. */
export const ffmpegSeconds = (seconds: number) => Math.max(0, seconds).toFixed(3);
