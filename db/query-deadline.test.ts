// The pool's client-side deadline against a PostgreSQL of the test's own that it freezes (SIGSTOP:
// connections stay open, nothing answers) and thaws.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { type RestartableServer, restartablePostgres } from "../tests/support/restartable-servers.ts";
import { type DatabaseHandle, openDatabase } from "./client.ts";
import { QUERY_DEADLINE } from "./query-deadline.ts";

const DEADLINE_MS = 1500;
let pg: RestartableServer;
let database: DatabaseHandle;

beforeAll(async () => {
  pg = await restartablePostgres();
  database = await openDatabase({ url: pg.url, pgliteDir: "", poolSize: 2, queryTimeoutMs: DEADLINE_MS });
}, 60_000);

afterAll(async () => {
  pg?.thaw();
  await database?.close();
  await pg?.destroy();
});

/** The code of what `work` rejected with, the driver's error drizzle wraps included. */
async function failureCode(work: Promise<unknown>): Promise<string | undefined> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught as Error & { code?: string },
  );
  if (!error) return undefined;
  return error.code ?? (error.cause as { code?: string } | undefined)?.code;
}

test("a live server cancels a slow statement itself, before the deadline: 57014, not QUERY_DEADLINE", async () => {
  expect(await failureCode(database.db.execute(sql`select pg_sleep(5)`))).toBe("57014");
  expect(await database.db.execute(sql`select 1 as one`)).toEqual([{ one: 1 }] as never);
});

test("a frozen server: queries, transactions and queued queries fail at the deadline; all work after the thaw", async () => {
  // Both connections open before the freeze, as in a running api.
  await Promise.all([database.db.execute(sql`select 1`), database.db.execute(sql`select 2`)]);
  pg.freeze();
  try {
    const codes = await Promise.all([
      failureCode(database.db.execute(sql`select 1`)),
      failureCode(database.db.transaction((tx) => tx.execute(sql`select 1`))),
      // More than the pool holds: these wait for a connection, and fail at the deadline too.
      ...[1, 2, 3, 4].map(() => failureCode(database.db.execute(sql`select 1`))),
      failureCode(database.ping()),
    ]);
    for (const code of codes) expect(["QUERY_DEADLINE", "CONNECTION_DESTROYED"]).toContain(code!);
    expect(codes).toContain(QUERY_DEADLINE);
  } finally {
    pg.thaw();
  }
  // The connections the deadline dropped are opened again: nothing stays stuck.
  let answered = false;
  for (let attempt = 0; attempt < 50 && !answered; attempt++) {
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) => database.db.execute(sql`select ${n}::int as n`)),
    );
    answered = results.every((result) => result.status === "fulfilled");
    if (!answered) await Bun.sleep(100);
  }
  expect(answered).toBe(true);
  await database.db.transaction(async (tx) => {
    expect(await tx.execute(sql`select 7 as seven`)).toEqual([{ seven: 7 }] as never);
  });
}, 60_000);
