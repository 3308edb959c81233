import { expect, test } from "bun:test";
import pino from "pino";
import { ConnectionErrorLog } from "../../connections/error-log.ts";
import { openDatabase } from "../../db/client.ts";
import { retryWhileAway, UNRESOLVED_HOST_ATTEMPTS, UnresolvedHostError } from "./dependency-wait.ts";

const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const pauses: number[] = [];
  const sleep = async (ms: number) => void pauses.push(ms);
  return { lines, pauses, sleep, errors: new ConnectionErrorLog(log) };
}

test("an outage is waited out with growing pauses, logged once, and its end is logged", async () => {
  const { lines, pauses, sleep, errors } = setup();
  let calls = 0;
  const value = await retryWhileAway(
    "database at start-up",
    async () => {
      if (++calls < 8) throw refused();
      return "migrated";
    },
    errors,
    sleep,
  );
  expect(value).toBe("migrated");
  expect(pauses).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  expect(lines.map((line) => line.msg)).toEqual([
    "database at start-up: connection error",
    "database at start-up: connection restored",
  ]);
  expect(lines[1]).toMatchObject({ suppressed: 6 });
});

test("any other failure is thrown at once", async () => {
  const { pauses, sleep, errors } = setup();
  const broken = retryWhileAway(
    "database at start-up",
    async () => {
      throw Object.assign(new Error('relation "videos" already exists'), {
        name: "PostgresError",
        code: "42P07",
      });
    },
    errors,
    sleep,
  );
  await expect(broken).rejects.toThrow("already exists");
  expect(pauses).toEqual([]);
});

test("a host name that never resolves ends the wait instead of blocking start-up for ever", async () => {
  const { lines, pauses, sleep, errors } = setup();
  // A real resolver failure: the .invalid top-level domain never resolves (RFC 6761).
  const database = await openDatabase({
    url: "postgres://postgres@database.videoflix.invalid:5432/videoflix",
    pgliteDir: "",
    poolSize: 1,
  });
  const waited = retryWhileAway("database at start-up", () => database.migrate(), errors, sleep);
  await expect(waited).rejects.toBeInstanceOf(UnresolvedHostError);
  await database.close();
  await expect(waited).rejects.toThrow("check the URL");
  expect(pauses).toHaveLength(UNRESOLVED_HOST_ATTEMPTS - 1);
  expect(lines.map((line) => line.msg)).toEqual(["database at start-up: connection error"]);
});

test("a failure to resolve between refusals does not count as a mistyped host", async () => {
  const { sleep, errors } = setup();
  const unresolved = () => Object.assign(new Error("getaddrinfo EAI_AGAIN db"), { code: "EAI_AGAIN" });
  let calls = 0;
  const value = await retryWhileAway(
    "database at start-up",
    async () => {
      calls++;
      if (calls > 2 * UNRESOLVED_HOST_ATTEMPTS) return "migrated";
      throw calls % 2 === 0 ? refused() : unresolved();
    },
    errors,
    sleep,
  );
  expect(value).toBe("migrated");
});
