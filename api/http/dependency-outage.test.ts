import { afterAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { Elysia } from "elysia";
import pino from "pino";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { createTestDatabase, freePort } from "../../dev/services.ts";
import { dependencyOutageOf } from "./dependency-outage.ts";
import { errorMapper } from "./error-mapper.ts";

const postgresError = (code: string, message: string) =>
  Object.assign(new Error(message), { name: "PostgresError", code });

test("what ioredis rejects commands with while Redis is away is a Redis outage", () => {
  for (const message of [
    "Stream isn't writeable and enableOfflineQueue options is false",
    "Command timed out",
    "Connection is closed.",
  ]) {
    expect(dependencyOutageOf(new Error(message))?.dependency).toBe("redis");
  }
  const retries = Object.assign(new Error("Reached the max retries per request limit"), {
    name: "MaxRetriesPerRequestError",
  });
  expect(dependencyOutageOf(retries)?.dependency).toBe("redis");
  const loading = Object.assign(new Error("LOADING Redis is loading the dataset in memory"), {
    name: "ReplyError",
  });
  expect(dependencyOutageOf(loading)?.dependency).toBe("redis");
});

test("a lost or refused PostgreSQL connection is a database outage, also wrapped as drizzle wraps it", () => {
  expect(
    dependencyOutageOf(Object.assign(new Error("write CONNECT_TIMEOUT"), { code: "CONNECT_TIMEOUT" }))
      ?.dependency,
  ).toBe("database");
  expect(
    dependencyOutageOf(postgresError("57P01", "terminating connection due to administrator command"))
      ?.dependency,
  ).toBe("database");
  expect(dependencyOutageOf(postgresError("08006", "connection failure"))?.dependency).toBe("database");
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  // The inner error is what is reported: drizzle's wrapper carries the SQL text and parameters.
  expect(dependencyOutageOf(new Error("Failed query: select 1", { cause: refused }))).toEqual({
    dependency: "network",
    error: refused,
  });
});

test("errors of the request itself are not outages", () => {
  // A statement timeout or cancel is a slow query, not a database that is away.
  expect(
    dependencyOutageOf(postgresError("57014", "canceling statement due to statement timeout")),
  ).toBeNull();
  expect(
    dependencyOutageOf(postgresError("23505", "duplicate key value violates unique constraint")),
  ).toBeNull();
  expect(dependencyOutageOf(postgresError("22P02", "invalid input syntax for type integer"))).toBeNull();
  expect(
    dependencyOutageOf(Object.assign(new Error("ERR wrong number of arguments"), { name: "ReplyError" })),
  ).toBeNull();
  expect(dependencyOutageOf(new TypeError("x is undefined"))).toBeNull();
  expect(dependencyOutageOf("a string")).toBeNull();
});

// The real error mapper answering for real drizzle errors: what the client gets, and what the log keeps.
const SECRET = "victim@example.com";
const opened: DatabaseHandle[] = [];
const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const database of opened) await database.close();
  for (const drop of drops) await drop();
});

function appLogging(route: () => Promise<unknown>) {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const app = new Elysia().use(errorMapper(log)).get("/query", route);
  return { lines, ask: () => app.handle(new Request("http://localhost/query")) };
}

test("a query cancelled by its statement timeout is a 500 whose log line has neither SQL nor parameters", async () => {
  const { url, drop } = await createTestDatabase();
  drops.push(drop);
  const database = await openDatabase({ url, pgliteDir: "", poolSize: 1 });
  opened.push(database);
  const { lines, ask } = appLogging(() =>
    database.db.transaction(async (tx) => {
      await tx.execute(sql`set local statement_timeout = 50`);
      return tx.execute(sql`select pg_sleep(5) where ${SECRET}::text <> ''`);
    }),
  );
  const response = await ask();
  expect(response.status).toBe(500);
  expect(response.headers.get("retry-after")).toBeNull();
  const logged = lines.map((line) => JSON.parse(line) as { msg: string; err?: { code?: string } });
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ msg: "unhandled error", err: { code: "57014" } });
  expect(lines[0]).not.toContain(SECRET);
  expect(lines[0]).not.toContain("pg_sleep");
});

test("a refused connection is a 503 whose log line has neither SQL nor parameters", async () => {
  const database = await openDatabase({
    url: `postgres://postgres@127.0.0.1:${await freePort()}/nothing`,
    pgliteDir: "",
    poolSize: 1,
  });
  opened.push(database);
  const { lines, ask } = appLogging(() => database.db.execute(sql`select ${SECRET}::text as email`));
  for (const _ of [1, 2]) {
    const response = await ask();
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  }
  // Throttled by the error's own message, not by the query's: one line for both requests.
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "network unavailable to requests: connection error" });
  expect(lines[0]).not.toContain(SECRET);
  expect(lines[0]).not.toContain("select");
});
