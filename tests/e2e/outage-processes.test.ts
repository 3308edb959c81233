// The real api and transcoder processes (`bun api/main.ts`, `bun transcoder/main.ts`) through a Redis
// and a PostgreSQL outage on servers of this test's own (the api even starts during one): neither
// process exits, the api answers 503 while
// a dependency is away and as before once it is back, and everything both write, stdout and stderr,
// is JSON lines: BullMQ's connection errors reach the log through its error listeners, throttled,
// instead of multi-line stacks on stderr.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "../../dev/services.ts";
import { eventually } from "../support/eventually.ts";
import {
  type RestartableServer,
  restartablePostgres,
  restartableRedis,
} from "../support/restartable-servers.ts";
import { STRONG_PASSWORD, TEST_JWT_SECRET, uniqueEmail } from "../support/test-api.ts";

const ROOT = join(import.meta.dir, "../..");
const REQUEST_ABORT_MS = 3000;

interface RunningProcess {
  child: Subprocess<"ignore", "pipe", "pipe">;
  stdout: () => string;
  stderr: () => string;
}

let redis: RestartableServer;
let pg: RestartableServer;
let scratch: string;
let api: RunningProcess;
let transcoder: RunningProcess;
let apiUrl: string;

function start(command: string[], env: Record<string, string>): RunningProcess {
  const child = spawn([process.execPath, ...command], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      LOG_LEVEL: "info",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = { stdout: "", stderr: "" };
  const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output[into] += decoder.decode(chunk, { stream: true });
  };
  void collect(child.stdout, "stdout");
  void collect(child.stderr, "stderr");
  return { child, stdout: () => output.stdout, stderr: () => output.stderr };
}

/** The lines of `text` that are not one JSON object each. */
function notJsonLines(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => {
      try {
        return typeof JSON.parse(line) !== "object";
      } catch {
        return true;
      }
    });
}

function logLines(process: RunningProcess): Array<Record<string, unknown>> {
  return process
    .stdout()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

const register = () =>
  fetch(`${apiUrl}/api/register/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: uniqueEmail("proc"),
      password: STRONG_PASSWORD,
      confirmed_password: STRONG_PASSWORD,
    }),
    signal: AbortSignal.timeout(REQUEST_ABORT_MS),
  });

const ready = async () =>
  (await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(REQUEST_ABORT_MS) }).catch(() => null))
    ?.status === 200;

const connectionErrorsOf = (process: RunningProcess, sourcePrefix: string) =>
  logLines(process).filter(
    (line) => line.msg === `${line.source}: connection error` && String(line.source).startsWith(sourcePrefix),
  );

beforeAll(async () => {
  [redis, pg] = await Promise.all([restartableRedis(), restartablePostgres()]);
  scratch = mkdtempSync(join(tmpdir(), "vf-outage-procs-"));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const media = join(scratch, "media");
  // The api starts while PostgreSQL is away: it waits for it (and says so) instead of exiting.
  await pg.stop();
  api = start(["api/main.ts"], {
    NODE_ENV: "test",
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_URL: apiUrl,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    JWT_SECRET: TEST_JWT_SECRET,
    MEDIA_TOKEN_SECRET: TEST_JWT_SECRET,
    MEDIA_ROOT: media,
    MAIL_DIR: join(scratch, "mail"),
  });
  transcoder = start(["transcoder/main.ts"], {
    REDIS_URL: redis.url,
    MEDIA_ROOT: media,
    TRANSCODER_NAME: "outage-worker",
    TRANSCODER_HWACCEL: "none",
    TRANSCODER_METRICS_PORT: "0",
  });
  await eventually(
    "the api to log that it waits for the database",
    async () => logLines(api).some((line) => line.msg === "database at start-up: connection error"),
    60_000,
  );
  expect(api.child.exitCode).toBeNull();
  await pg.start();
  await eventually("the api to be ready", ready, 60_000).catch((error: Error) => {
    throw new Error(
      `${error.message}; the api wrote: ${api.stdout().slice(-2000)} ${api.stderr().slice(-2000)}`,
    );
  });
  await eventually(
    "the transcoder to wait for jobs",
    async () => logLines(transcoder).some((line) => line.msg === "transcoder waiting for jobs"),
    60_000,
  );
  expect((await register()).status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const process of [api, transcoder]) {
    if (!process || process.child.exitCode !== null) continue;
    process.child.kill("SIGTERM");
    await Promise.race([process.child.exited, Bun.sleep(10_000)]);
    process.child.kill("SIGKILL");
  }
  await Promise.all([redis?.destroy(), pg?.destroy()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("through a Redis and a PostgreSQL outage both processes keep running and write JSON lines only", async () => {
  await redis.stop();
  await eventually(
    "the api's queues to log a connection error",
    async () => connectionErrorsOf(api, "queue ").length > 0,
  );
  await eventually(
    "the transcoder's worker to log a connection error",
    async () => connectionErrorsOf(transcoder, "worker ").length > 0,
  );
  const duringRedis = await register();
  expect(duringRedis.status).toBe(503);
  expect(duringRedis.headers.get("retry-after")).toMatch(/^\d+$/);

  await pg.stop();
  expect((await register()).status).toBe(503);
  await redis.start();
  // Redis is back, PostgreSQL is not: registering needs both.
  await eventually("the api to see Redis again", async () => {
    const response = await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(REQUEST_ABORT_MS) });
    const body = (await response.json()) as { checks: { redis: string } };
    return body.checks.redis === "ok";
  });
  expect((await register()).status).toBe(503);
  await pg.start();
  await eventually("the api to be ready again", ready, 20_000);
  expect((await register()).status).toBe(201);

  expect(api.child.exitCode).toBeNull();
  expect(transcoder.child.exitCode).toBeNull();
  for (const process of [api, transcoder]) {
    expect(notJsonLines(process.stdout())).toEqual([]);
    expect(notJsonLines(process.stderr())).toEqual([]);
  }
  // Throttled: a few lines per source and distinct error, not one per reconnect attempt.
  expect(connectionErrorsOf(api, "").length).toBeLessThan(40);
  expect(connectionErrorsOf(transcoder, "").length).toBeLessThan(20);
  expect(logLines(transcoder).some((line) => String(line.msg).endsWith("connection restored"))).toBe(true);
}, 120_000);
