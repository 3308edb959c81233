import type { ConnectionErrorLog } from "../../connections/error-log.ts";
import { dependencyOutageOf } from "../http/dependency-outage.ts";

const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;

/**
 * Runs `task` until it gets through a dependency outage: while it fails because PostgreSQL or Redis is
 * away, the error is logged (throttled, as `source`) and it is tried again with a growing pause; any
 * other failure is thrown at once. At start-up this makes the api wait for its database instead of
 * exiting, so a supervisor that stops the stack when a child dies is not brought down by an outage.
 */
export async function retryWhileAway<T>(
  source: string,
  task: () => Promise<T>,
  errors: ConnectionErrorLog,
  sleep: (ms: number) => Promise<unknown> = Bun.sleep,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await task();
      errors.recovered(source);
      return value;
    } catch (error) {
      if (!dependencyOutageOf(error)) throw error;
      errors.report(source, error);
      await sleep(Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** attempt));
    }
  }
}
