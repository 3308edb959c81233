// When a running FFmpeg is given up on. It is allowed `floor + factor × duration / expected speed`; the
// speed the run reports is projected forward (time spent + media left / speed), so a run that cannot
// make it (a crawl) is stopped as soon as that is clear rather than at the end of its allowance, and a
// run whose media time stops advancing (a hung read, a frozen process) is stopped after the floor.
import type { RunWatchdog } from "./ffmpeg-process.ts";
import { formatTimestamp } from "./probe.ts";
import type { FfmpegProgress } from "./progress.ts";

export interface EncodeTimeoutSettings {
  /** Seconds every run gets on top of its allowance, and the longest it may go without advancing. */
  floorSeconds: number;
  /** How many times its expected length a run may take. */
  factor: number;
  /** Speed (× real time) a healthy run has on this host: lower it (or raise the factor) on slow hosts. */
  expectedSpeed: number;
}

export const DEFAULT_ENCODE_TIMEOUT: EncodeTimeoutSettings = Object.freeze({
  floorSeconds: 120,
  factor: 4,
  expectedSpeed: 0.5,
});

export class EncodeDeadline implements RunWatchdog {
  private readonly allowedSeconds: number;
  private lastAdvanceMs: number;
  private reachedSeconds = 0;
  private speed: number | null = null;
  /** Why the run was stopped, once `overdue` said so. */
  reason: string | null = null;

  constructor(
    private readonly settings: EncodeTimeoutSettings,
    private readonly mediaSeconds: number,
    private readonly startedAtMs: number,
  ) {
    this.lastAdvanceMs = startedAtMs;
    this.allowedSeconds = settings.floorSeconds + (settings.factor * mediaSeconds) / settings.expectedSpeed;
  }

  /** A progress block of the run: moves the stall clock and updates the measured speed. */
  observe(progress: Pick<FfmpegProgress, "outTimeSeconds" | "speed">, nowMs: number): void {
    if (progress.outTimeSeconds > this.reachedSeconds) {
      this.reachedSeconds = progress.outTimeSeconds;
      this.lastAdvanceMs = nowMs;
    }
    // FFmpeg's speed is media time over wall time since it started; until it says, measure it so.
    const elapsed = (nowMs - this.startedAtMs) / 1000;
    this.speed =
      progress.speed ?? (elapsed > 0 && this.reachedSeconds > 0 ? this.reachedSeconds / elapsed : null);
  }

  overdue(nowMs: number): string | null {
    if (this.reason) return this.reason;
    const elapsed = (nowMs - this.startedAtMs) / 1000;
    const video = formatTimestamp(this.mediaSeconds);
    const reached = `reached ${formatTimestamp(this.reachedSeconds)} of ${video}`;
    const allowed = `${Math.round(this.allowedSeconds)} s`;
    if (nowMs - this.lastAdvanceMs > this.settings.floorSeconds * 1000) {
      this.reason = `FFmpeg was stopped: it made no progress for ${this.settings.floorSeconds} s (${reached})`;
    } else if (elapsed > this.settings.floorSeconds && this.speed !== null) {
      // The projection is never less than the time already spent: this also ends a run past its allowance.
      const needed = elapsed + Math.max(0, this.mediaSeconds - this.reachedSeconds) / this.speed;
      if (needed > this.allowedSeconds) {
        this.reason =
          `FFmpeg was stopped: at ${this.speed.toFixed(3)}× real time it would need ${Math.round(needed)} s ` +
          `for ${video} of video, more than the ${allowed} allowed (${reached})`;
      }
    }
    return this.reason;
  }
}
