import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { withQueryDeadline } from "./query-deadline.ts";
import * as schema from "./schema/index.ts";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  /** "postgres" for a server reached by URL, "pglite" for the embedded database. */
  kind: "postgres" | "pglite";
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

export interface DatabaseOptions {
  /** postgres:// URL; null selects embedded PGlite stored under `pgliteDir`. */
  url: string | null;
  pgliteDir: string;
  /** Connections in the postgres.js pool. */
  poolSize?: number;
  /**
   * Client-side deadline of every query (and of a transaction's BEGIN): past it the query fails with
   * QUERY_DEADLINE (503) and its connection is dropped. Unset: none (the CLIs' long migrations).
   */
  queryTimeoutMs?: number;
}

/**
 * How long opening a connection (TCP, TLS, startup, authentication) may take. A stopped server refuses
 * at once; this bounds a host that does not answer, so a request fails in about a second (503).
 */
export const CONNECT_TIMEOUT_SECONDS = 1;
/**
 * The server cancels a statement of the pool that runs longer (SQLSTATE 57014, a 500: a slow query is a
 * bug, not an outage): a backstop against a lock held for ever. With a client-side deadline it is the
 * deadline less STATEMENT_MARGIN_MS instead, so a live server always cancels a slow statement itself and
 * only one that does not answer at all reaches the deadline (503). Migrations run on a connection of
 * their own without either.
 */
export const STATEMENT_TIMEOUT_MS = 15_000;
export const STATEMENT_MARGIN_MS = 1000;
/**
 * TCP keepalive on idle pooled connections: a host that vanished (powered off, a network cut without a
 * reset) is noticed within about this long plus the kernel's probes, not when a request next uses it.
 */
export const KEEPALIVE_SECONDS = 10;
/**
 * Seconds before postgres.js opens a connection again after one failed. Its default grows with every
 * failure in a row (3^n / 100 s, up to 20 s), and queries queue behind that wait: a stopped server then
 * held requests for 5–25 s instead of refusing them at once. A short constant keeps a stopped server's
 * refusals coming back in milliseconds (503) and costs one connection attempt per waiting query.
 */
export const RECONNECT_BACKOFF_SECONDS = 0.1;

/**
 * Opens the database: PostgreSQL through postgres.js when a URL is given, else embedded PGlite so a
 * newcomer needs no database server. Both run the same drizzle schema and migrations.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.url
    ? openPostgres(options.url, options.poolSize ?? 10, options.queryTimeoutMs)
    : openPglite(options.pgliteDir);
}

async function openPostgres(
  url: string,
  poolSize: number,
  queryTimeoutMs: number | undefined,
): Promise<DatabaseHandle> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");
  const pool = postgres(url, {
    max: poolSize,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    keep_alive: KEEPALIVE_SECONDS,
    backoff: () => RECONNECT_BACKOFF_SECONDS,
    onnotice: () => {},
    connection: {
      application_name: "videoflix",
      statement_timeout:
        queryTimeoutMs === undefined
          ? STATEMENT_TIMEOUT_MS
          : Math.max(1, queryTimeoutMs - STATEMENT_MARGIN_MS),
    },
  });
  const client = queryTimeoutMs === undefined ? pool : withQueryDeadline(pool, queryTimeoutMs);
  const db = drizzle(client, { schema, casing: "snake_case" });
  return {
    db: db as unknown as Database,
    kind: "postgres",
    // A migration may rewrite a large table: no statement timeout, and only while it runs.
    migrate: async () => {
      const migrator = postgres(url, {
        max: 1,
        connect_timeout: CONNECT_TIMEOUT_SECONDS,
        onnotice: () => {},
        connection: { application_name: "videoflix-migrate" },
      });
      try {
        await migrate(drizzle(migrator, { casing: "snake_case" }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await migrator.end({ timeout: 5 });
      }
    },
    ping: async () => {
      await client.unsafe("select 1");
    },
    close: () => pool.end({ timeout: 5 }),
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const dataDir = dir === "memory://" ? dir : ensureDir(dir);
  // The catalogue's search index needs pg_trgm (migration 0008); PGlite loads contrib extensions itself.
  const client = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  const db = drizzle(client, { schema, casing: "snake_case" });
  return {
    db: db as unknown as Database,
    kind: "pglite",
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    ping: async () => {
      await client.query("select 1");
    },
    close: () => client.close(),
  };
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
