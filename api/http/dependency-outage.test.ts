import { expect, test } from "bun:test";
import { dependencyOutageOf } from "./dependency-outage.ts";

const postgresError = (code: string, message: string) =>
  Object.assign(new Error(message), { name: "PostgresError", code });

test("what ioredis rejects commands with while Redis is away is a Redis outage", () => {
  for (const message of [
    "Stream isn't writeable and enableOfflineQueue options is false",
    "Command timed out",
    "Connection is closed.",
  ]) {
    expect(dependencyOutageOf(new Error(message))).toBe("redis");
  }
  const retries = Object.assign(new Error("Reached the max retries per request limit"), {
    name: "MaxRetriesPerRequestError",
  });
  expect(dependencyOutageOf(retries)).toBe("redis");
  const loading = Object.assign(new Error("LOADING Redis is loading the dataset in memory"), {
    name: "ReplyError",
  });
  expect(dependencyOutageOf(loading)).toBe("redis");
});

test("a lost or refused PostgreSQL connection is a database outage, also wrapped as drizzle wraps it", () => {
  expect(
    dependencyOutageOf(Object.assign(new Error("write CONNECT_TIMEOUT"), { code: "CONNECT_TIMEOUT" })),
  ).toBe("database");
  expect(
    dependencyOutageOf(postgresError("57P01", "terminating connection due to administrator command")),
  ).toBe("database");
  expect(dependencyOutageOf(postgresError("08006", "connection failure"))).toBe("database");
  expect(dependencyOutageOf(postgresError("57014", "canceling statement due to statement timeout"))).toBe(
    "database",
  );
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  expect(dependencyOutageOf(new Error("Failed query: select 1", { cause: refused }))).toBe("network");
});

test("errors of the request itself are not outages", () => {
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
