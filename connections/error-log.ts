import type Redis from "ioredis";
import type { Logger } from "pino";

/** Anything that reports trouble with an `error` event: ioredis clients, BullMQ queues, workers, queue events. */
export interface ErrorEmitter {
  on(event: "error", listener: (error: Error) => void): unknown;
}

/** How often one source may log while its dependency stays down. */
export const CONNECTION_ERROR_INTERVAL_MS = 30_000;

/** Distinct (source, message) pairs remembered; past that the oldest are forgotten (logged again). */
const MAX_REMEMBERED = 200;

interface Remembered {
  loggedAtMs: number;
  suppressed: number;
}

/**
 * Connection errors as JSON log lines, each distinct error of a source at most once per interval: a
 * client that reconnects every few hundred milliseconds during an outage would otherwise write
 * thousands of lines (and BullMQ prints an error nobody listens to as a multi-line stack on stderr).
 * The next line of the same error says how many were left out; the first success after a failure
 * says the connection is back.
 */
export class ConnectionErrorLog {
  /** Keyed by source and message, in the order they were last logged. */
  private readonly remembered = new Map<string, Remembered>();
  private readonly failing = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = CONNECTION_ERROR_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `error` of `source` unless the same error of that source was logged within the interval. */
  report(source: string, error: unknown): void {
    const described = describe(error);
    const key = `${source}\n${described.err}`;
    const nowMs = this.now();
    this.failing.add(source);
    const seen = this.remembered.get(key);
    if (seen && nowMs - seen.loggedAtMs < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.remembered.delete(key);
    this.remembered.set(key, { loggedAtMs: nowMs, suppressed: 0 });
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
    this.log.error(
      { source, ...described, suppressed: seen?.suppressed ?? 0 },
      `${source}: connection error`,
    );
  }

  /** Notes that `source` works again; logs it once when it had been failing. */
  recovered(source: string): void {
    if (!this.failing.delete(source)) return;
    let suppressed = 0;
    for (const [key, seen] of this.remembered) {
      if (!key.startsWith(`${source}\n`)) continue;
      suppressed += seen.suppressed;
      this.remembered.delete(key);
    }
    this.log.info({ source, suppressed }, `${source}: connection restored`);
  }

  /** Routes every `error` event of `emitter` here (a BullMQ Queue, Worker or QueueEvents). */
  watch(emitter: ErrorEmitter, source: string): void {
    emitter.on("error", (error) => this.report(source, error));
  }

  /** An ioredis client: its errors, and its `ready` after an outage. */
  watchClient(client: Redis, source: string): void {
    this.watch(client, source);
    client.on("ready", () => this.recovered(source));
  }
}

/** One line's worth of an error: its message and code, never a stack. */
function describe(error: unknown): { err: string; code?: string } {
  if (!(error instanceof Error)) return { err: String(error) };
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" ? { err: error.message, code } : { err: error.message };
}
