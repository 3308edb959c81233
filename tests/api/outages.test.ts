// Outages of Redis and PostgreSQL seen from the request paths: the real api runtime on a Redis and a
// PostgreSQL of this test's own, which it kills, freezes (SIGSTOP: connected, never answering) and
// stops, then starts again. Every request path answers 503 JSON with Retry-After while a dependency it
// needs is away (and its usual answer when it needs nothing of it), never 500 and never a hang, and
// answers as before once the dependency is back. Each request is aborted after 6 s: an answer that
// never comes fails the test, whatever the machine's speed (a frozen PostgreSQL is answered at the
// query deadline, DATABASE_QUERY_TIMEOUT_MS, set to 2.5 s here).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../../api/config/load.ts";
import { type ApiRuntime, startApiRuntime } from "../../api/runtime.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { createActiveUser, uniqueEmail } from "../../dev/browser-client.ts";
import { type SmtpCapture, startSmtpCapture } from "../../dev/smtp-capture.ts";
import { ADMIN, ADMIN_ENV, sessionHeaders, uploadForm } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree, tinyMp4Bytes } from "../support/fixtures.ts";
import {
  type RestartableServer,
  restartablePostgres,
  restartableRedis,
} from "../support/restartable-servers.ts";
import { Client, STRONG_PASSWORD, TEST_JWT_SECRET } from "../support/test-api.ts";

/** Generous: an answer within it is no hang; the point is that one comes at all. */
const REQUEST_ABORT_MS = 6000;

let redis: RestartableServer;
let pg: RestartableServer;
let smtp: SmtpCapture;
let runtime: ApiRuntime;
let url: string;
let scratch: string;
let viewer: Client;
let admin: Client;
let viewerAccount: { email: string; password: string };
/** Published videos not yet touched by any request: each phase takes fresh ones, so no cache answers. */
const unusedVideos: number[] = [];
/** A video in `processing`: its admin views read the transcode progress from Redis. */
let transcoding = 0;
const logLines: Array<Record<string, unknown>> = [];

type Dependency = "redis" | "database";

interface RequestPath {
  name: string;
  /** What the path cannot answer without. */
  needs: Dependency[];
  /** The answer while everything is up. */
  ok: number;
  send(video: number): Promise<Response>;
}

function send(client: Client | null, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: {
      ...(client ? sessionHeaders(client) : { "x-forwarded-for": new Client(url).ip }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: "manual",
    signal: AbortSignal.timeout(REQUEST_ABORT_MS),
  });
}

const PATHS: RequestPath[] = [
  {
    name: "login",
    needs: ["redis", "database"],
    ok: 200,
    send: () => send(null, "POST", "/api/login/", viewerAccount),
  },
  {
    name: "register",
    needs: ["redis", "database"],
    ok: 201,
    send: () =>
      send(null, "POST", "/api/register/", {
        email: uniqueEmail("outage"),
        password: STRONG_PASSWORD,
        confirmed_password: STRONG_PASSWORD,
      }),
  },
  {
    name: "catalogue list",
    needs: ["database"],
    ok: 200,
    // A search of its own: the catalogue cache never holds its answer.
    send: () => send(viewer, "GET", `/api/videos/?q=${crypto.randomUUID().slice(0, 8)}`),
  },
  {
    name: "catalogue detail",
    needs: ["database"],
    ok: 200,
    send: (video) => send(viewer, "GET", `/api/videos/${video}`),
  },
  {
    name: "heartbeat",
    needs: ["redis", "database"],
    ok: 204,
    send: (video) => send(viewer, "PUT", `/api/progress/${video}`, { position_seconds: 1 }),
  },
  {
    name: "admin listing",
    // It lists the transcoding video too, whose progress is in Redis.
    needs: ["redis", "database"],
    ok: 200,
    send: () => send(admin, "GET", "/api/admin/videos"),
  },
  {
    name: "admin read",
    // A published video: its progress is not read from Redis (only a transcoding one's is).
    needs: ["database"],
    ok: 200,
    send: (video) => send(admin, "GET", `/api/admin/videos/${video}`),
  },
  {
    name: "admin read of a video being transcoded",
    needs: ["redis", "database"],
    ok: 200,
    send: () => send(admin, "GET", `/api/admin/videos/${transcoding}`),
  },
  {
    name: "admin upload",
    // The row is the truth: with Redis away its job is enqueued later, by reconciliation (202 at once).
    needs: ["database"],
    ok: 202,
    send: async () =>
      fetch(`${url}/api/admin/videos`, {
        method: "POST",
        headers: sessionHeaders(admin),
        body: uploadForm({ title: "Uploaded", category: "Outages", file: await tinyMp4Bytes() }),
        signal: AbortSignal.timeout(REQUEST_ABORT_MS),
      }),
  },
  {
    name: "playback playlist",
    needs: ["database"],
    ok: 200,
    send: (video) => send(viewer, "GET", `/api/video/${video}/master.m3u8`),
  },
];

interface Answer {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  body: string;
}

/** Every path once, each on a fresh video; a request that gets no answer in time fails here. */
async function answers(): Promise<Map<string, Answer>> {
  const video = unusedVideos.shift();
  if (video === undefined) throw new Error("the test ran out of fresh videos: publish more in beforeAll");
  const results = new Map<string, Answer>();
  for (const path of PATHS) {
    let response: Response;
    try {
      response = await path.send(video);
    } catch (error) {
      throw new Error(`${path.name}: no answer within ${REQUEST_ABORT_MS} ms (${String(error)})`);
    }
    results.set(path.name, {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      contentType: response.headers.get("content-type"),
      body: await response.text(),
    });
  }
  return results;
}

function expectUnavailable(name: string, answer: Answer): void {
  expect(answer.status, `${name}: ${answer.body}`).toBe(503);
  expect(answer.contentType, name).toContain("application/json");
  const body = JSON.parse(answer.body) as unknown;
  // The api's error shape: an object of messages, here a `detail` sentence.
  expect(body, name).toEqual({ detail: expect.stringMatching(/^The service is temporarily unavailable/) });
  expect(answer.retryAfter, name).toMatch(/^[1-9]\d*$/);
}

/** While `down` is away: 503 where a path needs it, the usual answer where it does not. */
async function expectOutage(down: Dependency): Promise<void> {
  const results = await answers();
  for (const path of PATHS) {
    const answer = results.get(path.name)!;
    if (path.needs.includes(down)) expectUnavailable(path.name, answer);
    else expect(answer.status, `${path.name} (does not need ${down}): ${answer.body}`).toBe(path.ok);
  }
}

async function expectAllAnswered(): Promise<void> {
  const results = await answers();
  for (const path of PATHS) {
    const answer = results.get(path.name)!;
    expect(answer.status, `${path.name}: ${answer.body}`).toBe(path.ok);
  }
}

/** A heartbeat over the WebSocket: the server's reply (`progress.saved`, or an error with its code). */
async function socketHeartbeat(video: number): Promise<{ type: string; code?: string }> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/api/ws`, {
    headers: { cookie: sessionHeaders(viewer).cookie!, origin: "http://frontend.test" },
  } as never);
  try {
    const reply = new Promise<{ type: string; code?: string }>((resolve, reject) => {
      // Other messages (the welcome, video events) may come first.
      ws.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as { type: string; code?: string };
        if (message.type === "progress.saved" || message.type === "error") resolve(message);
      };
      ws.onerror = () => reject(new Error("the WebSocket failed"));
      setTimeout(
        () => reject(new Error(`no WebSocket reply within ${REQUEST_ABORT_MS} ms`)),
        REQUEST_ABORT_MS,
      );
    });
    ws.onopen = () => ws.send(JSON.stringify({ type: "progress", video_id: video, position_seconds: 1 }));
    return await reply;
  } finally {
    ws.close();
  }
}

async function waitUntilReady(): Promise<void> {
  let last = "";
  await eventually(
    "/ready to answer 200",
    async () => {
      const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(REQUEST_ABORT_MS) });
      last = await response.text();
      return response.status === 200;
    },
    20_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last answer: ${last}`);
  });
}

const logged = (message: string) => logLines.filter((line) => String(line.msg).includes(message));

beforeAll(async () => {
  [redis, pg, smtp] = await Promise.all([restartableRedis(), restartablePostgres(), startSmtpCapture()]);
  scratch = mkdtempSync(join(tmpdir(), "vf-outages-"));
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    MEDIA_ROOT: join(scratch, "media"),
    MAIL_DIR: join(scratch, "mail"),
    SMTP_URL: smtp.url,
    PORT: "0",
    HOST: "127.0.0.1",
    JWT_SECRET: TEST_JWT_SECRET,
    FRONTEND_URL: "http://frontend.test",
    CORS_ORIGINS: "http://frontend.test",
    TRUST_PROXY: "true",
    DATABASE_QUERY_TIMEOUT_MS: "2500",
    ...ADMIN_ENV,
  });
  const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  runtime = await startApiRuntime({ config, log });
  runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${runtime.app.server!.port}`;

  viewerAccount = await createActiveUser({ url, smtp });
  viewer = new Client(url);
  expect((await viewer.post("/api/login/", viewerAccount)).status).toBe(200);
  admin = new Client(url);
  expect((await admin.post("/api/login/", ADMIN)).status).toBe(200);

  // Published videos, one per phase, made the way a transcoder's ready report makes them.
  const db = runtime.database.db;
  const [category] = await db.insert(categories).values({ name: "Outages" }).returning();
  for (let n = 0; n < 12; n++) {
    const [video] = await db
      .insert(videos)
      .values({
        title: `Outage ${n}`,
        categoryId: category!.id,
        sourceKey: `sources/o${n}.mp4`,
        sourceBytes: 1,
      })
      .returning();
    publishTree(config.mediaRoot, video!.id, 1);
    const report = { type: "ready", videoId: video!.id, revision: 1, result: fabricatedResult() } as const;
    expect(await runtime.services.lifecycle.applyReport({ ...report, at: new Date().toISOString() })).toBe(
      true,
    );
    unusedVideos.push(video!.id);
  }
  // A video being transcoded: the admin listing reads its progress from Redis.
  const [processing] = await db
    .insert(videos)
    .values({ title: "Transcoding", categoryId: category!.id, sourceKey: "sources/t.mp4", sourceBytes: 1 })
    .returning();
  const started = {
    type: "processing",
    videoId: processing!.id,
    revision: 1,
    attempt: 1,
    worker: "test",
  } as const;
  expect(await runtime.services.lifecycle.applyReport({ ...started, at: new Date().toISOString() })).toBe(
    true,
  );
  transcoding = processing!.id;
}, 120_000);

afterAll(async () => {
  // A test that failed mid-outage left a server down or frozen: the runtime's stop needs them back.
  await Promise.all([redis?.start(), pg?.start()]);
  await runtime?.stop().catch(() => {});
  await smtp?.close();
  await Promise.all([redis?.destroy(), pg?.destroy()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // Stopping the runtime and two throwaway servers takes more than bun's 5 s hook default under load.
}, 60_000);

describe("outages answer 503 at once and recover", () => {
  test("every path answers while Redis and PostgreSQL are up", async () => {
    await expectAllAnswered();
    expect(await socketHeartbeat(unusedVideos[0]!)).toMatchObject({ type: "progress.saved" });
  }, 120_000);

  test("Redis killed: 503 with Retry-After where Redis is needed; all answer again after its restart", async () => {
    await redis.stop();
    await expectOutage("redis");
    expect(await socketHeartbeat(unusedVideos[0]!)).toMatchObject({ type: "error", code: "unavailable" });
    // BullMQ's connection errors reach the JSON log through the error listeners, throttled.
    await eventually("a queue's connection error in the log", async () =>
      logged("connection error").some((line) => String(line.source).startsWith("queue ")),
    );
    await redis.start();
    await waitUntilReady();
    await expectAllAnswered();
    expect(logged("connection restored").length).toBeGreaterThan(0);
  }, 120_000);

  test("Redis frozen (connected, never answering): 503 instead of a hang; all answer after it thaws", async () => {
    redis.freeze();
    try {
      await expectOutage("redis");
    } finally {
      redis.thaw();
    }
    await waitUntilReady();
    await expectAllAnswered();
  }, 120_000);

  test("PostgreSQL stopped: 503 with Retry-After where the database is needed; all answer after its restart", async () => {
    await pg.stop();
    await expectOutage("database");
    expect(await socketHeartbeat(unusedVideos[0]!)).toMatchObject({ type: "error", code: "unavailable" });
    // More logins cut short by the outage than the account's limit allows failures: none of them is a
    // wrong password, so none may count against the account.
    const login = PATHS.find((path) => path.name === "login")!;
    for (let i = 0; i <= runtime.config.rateLimits.login.account.limit; i++) {
      expect((await login.send(0)).status).toBe(503);
    }
    await pg.start();
    await waitUntilReady();
    await expectAllAnswered();
    expect((await login.send(0)).status).toBe(200);
  }, 120_000);

  test("PostgreSQL frozen (connected, never answering): 503 at the query deadline; all answer after it thaws", async () => {
    pg.freeze();
    try {
      await expectOutage("database");
      expect(await socketHeartbeat(unusedVideos[0]!)).toMatchObject({ type: "error", code: "unavailable" });
    } finally {
      pg.thaw();
    }
    // The connections the deadline dropped are opened again: the pool is not left stuck.
    await waitUntilReady();
    await expectAllAnswered();
    await expectAllAnswered();
  }, 120_000);

  test("no outage ended in a 500", () => {
    expect(logged("unhandled error")).toEqual([]);
    // One line per distinct error and interval, not one per request or reconnect attempt.
    const outageLines = logged("unavailable to requests");
    expect(outageLines.length).toBeGreaterThan(0);
    expect(outageLines.length).toBeLessThan(20);
  }, 120_000);
});
