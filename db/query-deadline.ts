// A client-side deadline on every query of the pool. statement_timeout is the server's: a PostgreSQL
// that keeps its connections open but never answers (a frozen host, a stalled disk, a cut network
// without a reset) would otherwise hold a request until TCP gives up. Past the deadline the query is
// rejected with QUERY_DEADLINE (answered 503), and the connection it was sent on is terminated: its
// answer may never come, and queries pipelined behind it would wait as long. A terminated connection
// refuses its queries at once (CONNECTION_DESTROYED) and is opened again once the old socket closes.
import type { Sql } from "postgres";

/** The error code a query rejected by its deadline carries (postgres.js' own codes are upper case too). */
export const QUERY_DEADLINE = "QUERY_DEADLINE";

export class QueryDeadlineError extends Error {
  readonly code = QUERY_DEADLINE;
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = "QueryDeadlineError";
  }
}

/** What postgres.js' Query exposes at run time (its typings leave these out). */
interface PendingQuery {
  state: unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  cancel(): unknown;
}

interface PooledConnection {
  terminate(): void;
}

type QueryOptions = Record<string, unknown> & { onexecute?: (connection: PooledConnection) => boolean };

/**
 * `sql` with a deadline on every query drizzle sends (`unsafe`, inside transactions too). A transaction
 * also gets one for its BEGIN: waiting longer for a connection to start it on fails it the same way.
 */
export function withQueryDeadline<T extends Sql>(sql: T, ms: number): T {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (query: string, params?: unknown[], options?: QueryOptions) => {
          const sentOn: { connection?: PooledConnection } = {};
          // onexecute's `true` keeps postgres.js' own scheduling (pipelining) as it is.
          const onexecute = (connection: PooledConnection) => {
            sentOn.connection = connection;
            return true;
          };
          return armed(target.unsafe(query, params as never, { ...options, onexecute } as never), sentOn, ms);
        };
      }
      if (property === "begin") return begin(target, ms);
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Rejects `query` after `ms` unless it settled; every way postgres.js settles it goes through these two. */
function armed<Q>(query: Q, sentOn: { connection?: PooledConnection }, ms: number): Q {
  const pending = query as unknown as PendingQuery;
  const { resolve, reject } = pending;
  const timer = setTimeout(() => {
    reject(new QueryDeadlineError(ms));
    if (pending.state === null) {
      pending.cancel(); // still waiting for a connection: taken out of the queue, never sent
    } else {
      sentOn.connection?.terminate();
    }
  }, ms);
  timer.unref?.();
  pending.resolve = (value) => {
    clearTimeout(timer);
    resolve(value);
  };
  pending.reject = (error) => {
    clearTimeout(timer);
    reject(error);
  };
  return query;
}

function begin(target: Sql, ms: number) {
  return (...args: unknown[]) => {
    const fn = args.pop() as (sql: Sql) => unknown;
    let started = false;
    let abandoned = false;
    let timer: Timer | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (started) return;
        abandoned = true;
        reject(new QueryDeadlineError(ms));
      }, ms);
      timer.unref?.();
    });
    const transaction = (target.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: Sql) => {
      started = true;
      clearTimeout(timer);
      // Begun after the caller was told it failed: roll it back rather than run it.
      if (abandoned) throw new QueryDeadlineError(ms);
      return fn(withQueryDeadline(tx, ms));
    });
    transaction.catch(() => {}); // an abandoned one's rollback is nobody's concern
    return Promise.race([transaction, deadline]).finally(() => clearTimeout(timer));
  };
}
