// A local clock on each running attempt's lock. BullMQ tells a worker that its lock is gone only through
// Redis (a failed renewal, a stall check): cut off from Redis, an attempt would run on and publish over
// the attempt that took the job over. The lock in Redis expires at most one lock duration after the
// last renewal that succeeded, so once that long has passed without one, the lock is gone for sure and
// the attempt is stopped here, with no word from Redis needed.

export interface LockWatchdogOptions {
  /** How long one renewal keeps the lock (the worker's lockDuration), ms. */
  lockDurationMs: number;
  /** Called once for an attempt whose lock went a whole lock duration without a renewal. */
  onLapsed(jobId: string, silentMs: number): void;
  now?: () => number;
}

export class LockWatchdog {
  /** Job id → when its lock was last set or renewed (local clock). */
  private readonly renewedAt = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: LockWatchdogOptions) {
    this.now = options.now ?? Date.now;
  }

  /** An attempt claimed the job: its lock was set just now. */
  watch(jobId: string): void {
    this.renewedAt.set(jobId, this.now());
    if (this.timer) return;
    // A fraction of the lock, so an attempt is stopped close after its lock's end, not a period later.
    this.timer = setInterval(() => this.check(), Math.max(50, this.options.lockDurationMs / 10));
    this.timer.unref?.();
  }

  /** A renewal of the job's lock succeeded (BullMQ's `locksRenewed`, or our own extendLock). */
  renewed(jobId: string): void {
    if (this.renewedAt.has(jobId)) this.renewedAt.set(jobId, this.now());
  }

  /** The attempt ended. */
  unwatch(jobId: string): void {
    this.renewedAt.delete(jobId);
    if (this.renewedAt.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops (through onLapsed) every attempt whose last renewal is a lock duration old or more. */
  check(): void {
    const at = this.now();
    for (const [jobId, renewedAt] of this.renewedAt) {
      const silentMs = at - renewedAt;
      if (silentMs < this.options.lockDurationMs) continue;
      this.renewedAt.delete(jobId);
      this.options.onLapsed(jobId, silentMs);
    }
    if (this.renewedAt.size === 0) this.stop();
  }
}
