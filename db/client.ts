import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
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
}

/**
 * How long opening a connection (TCP, TLS, startup, authentication) may take. A stopped server refuses
 * at once; this bounds a host that does not answer, so a request fails in about a second (503).
 */
export const CONNECT_TIMEOUT_SECONDS = 1;
/**
 * The server cancels a statement of the pool that runs longer (SQLSTATE 57014, answered 503): a backstop
 * against a wedged server or a lock held for ever. Migrations run on a connection of their own without it.
 */
export const STATEMENT_TIMEOUT_MS = 15_000;

/**
 * Opens the database: PostgreSQL through postgres.js when a URL is given, else embedded PGlite so a
 * newcomer needs no database server. Both run the same drizzle schema and migrations.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.pgliteDir);
}

async function openPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");
  const client = postgres(url, {
    max: poolSize,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    onnotice: () => {},
    connection: { application_name: "videoflix", statement_timeout: STATEMENT_TIMEOUT_MS },
  });
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
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const dataDir = dir === "memory://" ? dir : ensureDir(dir);
  const client = await PGlite.create(dataDir);
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
