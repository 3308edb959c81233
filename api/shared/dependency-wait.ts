import type { ConnectionErrorLog } from "../../connections/error-log.ts";
import { dependencyOutageOf } from "../http/dependency-outage.ts";

const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;
/**
 * A host name that does not resolve is far more often a typo in DATABASE_URL or REDIS_URL than an outage:
 * after this many failures in a row (about 28 s, long enough for a container's name to appear) the wait
 * gives up, and the api exits saying which host.
 */
export const UNRESOLVED_HOST_ATTEMPTS = 10;
const NAME_RESOLUTION_CODES = new Set(["ENOTFOUND", "EAI_AGAIN"]);

export class UnresolvedHostError extends Error {
  constructor(source: string, cause: Error) {
    super(
      `${source}: the host name did not resolve ${UNRESOLVED_HOST_ATTEMPTS} times in a row (${cause.message}); check the URL`,
      {
        cause,
      },
    );
    this.name = "UnresolvedHostError";
  }
}

/**
 * Runs `task` until it gets through a dependency outage: while it fails because PostgreSQL or Redis is
 * away, the error is logged (throttled, as `source`) and it is tried again with a growing pause; any
 * other failure is thrown at once. At start-up this makes the api wait for its database instead of
 * exiting, so a supervisor that stops the stack when a child dies is not brought down by an outage. A
 * host name that keeps failing to resolve ends the wait (UnresolvedHostError).
 */
export async function retryWhileAway<T>(
  source: string,
  task: () => Promise<T>,
  errors: ConnectionErrorLog,
  sleep: (ms: number) => Promise<unknown> = Bun.sleep,
): Promise<T> {
  let unresolved = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await task();
      errors.recovered(source);
      return value;
    } catch (error) {
      const outage = dependencyOutageOf(error);
      if (!outage) throw error;
      const code = (outage.error as NodeJS.ErrnoException).code;
      unresolved = code && NAME_RESOLUTION_CODES.has(code) ? unresolved + 1 : 0;
      if (unresolved >= UNRESOLVED_HOST_ATTEMPTS) throw new UnresolvedHostError(source, outage.error);
      errors.report(source, outage.error);
      await sleep(Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** attempt));
    }
  }
}
