import type { Logger } from "pino";

/**
 * Work that outlives the request that started it (sending a mail). Tracked so that a graceful
 * shutdown waits for it instead of dropping it.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  run(name: string, task: () => Promise<unknown>): void {
    const promise = task()
      .catch((error: unknown) => this.log.error({ task: name, err: error }, "background task failed"))
      .finally(() => this.pending.delete(promise));
    this.pending.add(promise);
  }

  /** Resolves once everything started so far has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
