import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import pino from "pino";
import { REDIS_OPTIONS } from "../../connections/redis.ts";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { createMailer } from "../../emails/mailer.ts";
import { startTestApi, type TestApi } from "../../tests/support/test-api.ts";
import { createApp } from "../app.ts";
import { buildServices } from "../services.ts";
import { BackgroundTasks } from "../shared/background-tasks.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

interface Readiness {
  status: string;
  checks: Record<string, string>;
}

/** The real app on the test database, with `redis` or `database` swapped for a broken one. */
async function readinessWith(parts: { redis?: Redis; database?: DatabaseHandle }) {
  const log = pino({ level: "silent" });
  const mailer = createMailer({ smtpUrl: api.smtp.url, from: api.config.mailFrom, mailDir: "unused", log });
  const services = buildServices({
    config: api.config,
    database: parts.database ?? api.database,
    redis: parts.redis ?? api.redis,
    bus: api.runtime.bus,
    mailer,
    log,
    background: new BackgroundTasks(log),
    clock: { now: () => new Date() },
    storage: api.runtime.storage,
    transcodeQueue: api.runtime.transcodeQueue,
    dashboardQueues: [],
  });
  const app = await createApp({ config: api.config, log, services });
  try {
    const started = performance.now();
    const response = await app.handle(new Request("http://localhost/ready"));
    return {
      status: response.status,
      body: (await response.json()) as Readiness,
      ms: performance.now() - started,
    };
  } finally {
    await mailer.close();
  }
}

test("GET /health → 200 {status: ok}", async () => {
  const response = await fetch(`${api.url}/health`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(await response.json()).toEqual({ status: "ok" });
});

test("GET /ready → 200 with database and Redis ok", async () => {
  const response = await fetch(`${api.url}/ready`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: "ready", checks: { database: "ok", redis: "ok" } });
});

test("GET /ready → 503 naming Redis when Redis is unreachable", async () => {
  const redis = new Redis("redis://127.0.0.1:1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  redis.on("error", () => {});
  try {
    const { status, body, ms } = await readinessWith({ redis });
    expect(status).toBe(503);
    expect(body.status).toBe("unavailable");
    expect(body.checks.database).toBe("ok");
    expect(body.checks.redis).not.toBe("ok");
    expect(body.checks.redis).toMatch(/^[\w .,:'()-]{10,300}$/); // a sentence, not "[object Object]"
    expect(ms).toBeLessThan(1500);
  } finally {
    redis.disconnect();
  }
});

test("GET /ready → 503 within the check timeout with the client settings the runtime uses", async () => {
  // The request connection of the runtime: no offline queue, bounded connect and command timeouts.
  const redis = new Redis("redis://127.0.0.1:1", { ...REDIS_OPTIONS.request, lazyConnect: true });
  redis.on("error", () => {});
  try {
    const { status, body, ms } = await readinessWith({ redis });
    expect(status).toBe(503);
    expect(body.checks).toMatchObject({ database: "ok" });
    expect(body.checks.redis).not.toBe("ok");
    expect(body.checks.redis!.length).toBeGreaterThan(10);
    expect(ms).toBeLessThan(2500); // CHECK_TIMEOUT_MS is 2000
  } finally {
    redis.disconnect();
  }
});

test("GET /ready → 503 naming the database when PostgreSQL is unreachable", async () => {
  const database = await openDatabase({ url: "postgres://postgres@127.0.0.1:1/none", pgliteDir: "unused" });
  try {
    const { status, body } = await readinessWith({ database });
    expect(status).toBe(503);
    expect(body.status).toBe("unavailable");
    expect(body.checks.redis).toBe("ok");
    expect(body.checks.database).not.toBe("ok");
    expect(body.checks.database!.length).toBeGreaterThan(5);
  } finally {
    await database.close();
  }
});
