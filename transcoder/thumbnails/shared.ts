// What the poster and storyboard passes share: running FFmpeg with a clear error, bounded parallelism
// for sharp, and sizes derived from the source's display size.
import { lastMeaningfulLine, runProcess } from "../ffmpeg-process.ts";

export interface DisplaySize {
  /** Display size: rotation and the sample aspect ratio already applied (what ffprobe's facts say). */
  width: number;
  height: number;
}

/** What the poster and the storyboard pass are given. */
export interface ThumbnailPassOptions {
  sourcePath: string;
  outputDir: string;
  /** How the returned paths start (`thumbnails`). */
  prefix: string;
  workDir: string;
  source: DisplaySize & { durationSeconds: number };
  signal: AbortSignal;
}

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

/**
 * `fn` over `items`, at most `limit` at a time; results in order. After a failure no new item starts,
 * and the promise rejects (with the first error) only once the running ones have settled: a caller's
 * cleanup never races a still-running FFmpeg.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}

/** Height for `width` keeping the display aspect ratio, at least 1 px. */
export function heightFor(width: number, source: DisplaySize): number {
  return Math.max(1, Math.round((width * source.height) / source.width));
}

/** Same, rounded to an even number (at least 2), as 4:2:0 JPEG tiles like it. */
export function evenHeightFor(width: number, source: DisplaySize): number {
  return Math.max(2, 2 * Math.round((width * source.height) / source.width / 2));
}

/** `1.5` → `"1.500"`: an FFmpeg time argument with millisecond precision. */
export const ffmpegSeconds = (seconds: number) => Math.max(0, seconds).toFixed(3);
