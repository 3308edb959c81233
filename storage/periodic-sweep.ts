// The timer the storage sweeps run on (the api's StorageSweeper, the transcoders' StagingSweeper), and
// the transcoders' ageing of film pieces (transcoder/chunks/piece-aging.ts).

/**
 * Runs `sweep` every interval once started, one run at a time: a run asked for while one is in
 * progress gets that one's result. `stop` waits for the run in progress, so none outlives what it uses
 * (the api closes its database right after).
 */
export class PeriodicSweep<T> {
  private timer: Timer | null = null;
  private running: Promise<T> | null = null;

  constructor(
    private readonly sweep: () => Promise<T>,
    /** A failed periodic run (a run asked for with `now` rejects to its caller instead). */
    private readonly onError: (error: unknown) => void,
  ) {}

  now(): Promise<T> {
    this.running ??= this.sweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.now().catch(this.onError), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}
