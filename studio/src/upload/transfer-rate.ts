// How fast a file goes up and how long it still needs: the bytes of the last few seconds over their
// time, so a stall shows at once and an early burst (the first chunk into a socket buffer) fades out.

const WINDOW_MS = 5_000;
/** Below this much measured time a rate would be a guess. */
const MIN_SPAN_MS = 700;

export class TransferRate {
  private samples: Array<{ at: number; bytes: number }> = [];

  /** `bytes` sent so far, measured at `at` (ms). */
  record(bytes: number, at: number): void {
    const last = this.samples.at(-1);
    // A resume starts again from the stored offset: what was measured before says nothing now.
    if (last && bytes < last.bytes) this.samples = [];
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at > WINDOW_MS) this.samples.shift();
  }

  /** Forgets the measurements (after a pause, a retry: the link may have changed). */
  reset(): void {
    this.samples = [];
  }

  bytesPerSecond(now: number): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || now - first.at < MIN_SPAN_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / (now - first.at);
  }

  /** Seconds until `total` at the current rate; null while there is no rate (or it is zero). */
  secondsLeft(total: number, now: number): number | null {
    const rate = this.bytesPerSecond(now);
    const last = this.samples.at(-1);
    if (!rate || !last) return null;
    return (total - last.bytes) / rate;
  }
}
