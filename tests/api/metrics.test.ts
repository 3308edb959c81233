// GET /metrics on the real api (real PostgreSQL and Redis): request counters by route template, the
// latency histogram, the WebSocket gauge, heartbeats and flushes, the queue depth; METRICS_TOKEN; and
// the request log line with its id.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import pino from "pino";
import { createApp } from "../../api/app.ts";
import type { Config } from "../../api/config/load.ts";
import { buildServices } from "../../api/services.ts";
import { BackgroundTasks } from "../../api/shared/background-tasks.ts";
import { TranscodeQueue } from "../../api/videos/transcode-queue.ts";
import { outputPrefixFor } from "../../contract/media.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { createMailer } from "../../emails/mailer.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree } from "../support/fixtures.ts";
import { sample } from "../support/metrics.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const TOKEN = "metrics-token-0123456789abcdef";

let api: TestApi;
let viewer: Client;
let listedVideoId: number;

beforeAll(async () => {
  // Flushes every second, so that the real flusher's metrics show up within the test.
  api = await startTestApi({ PROGRESS_FLUSH_INTERVAL_SECONDS: "1" }, { consumeEvents: false });
  viewer = await loggedInClient(api);
  const [category] = await api.database.db.insert(categories).values({ name: "Metrics" }).returning();
  const [video] = await api.database.db
    .insert(videos)
    .values({
      title: "Measured",
      categoryId: category!.id,
      sourceKey: `sources/${crypto.randomUUID()}`,
      sourceBytes: 1000,
      processingState: "ready",
      publishedRevision: 1,
      durationSeconds: 100,
      posters: fabricatedResult().posters,
    })
    .returning();
  listedVideoId = video!.id;
  await api.database.db
    .update(videos)
    .set({ publishedPrefix: outputPrefixFor(listedVideoId, 1) })
    .where(eq(videos.id, listedVideoId));
  publishTree(api.config.mediaRoot, listedVideoId, 1);
  // A waiting job (no transcoder runs here), queued before the first scrape fills the 5 s cache.
  await api.runtime.transcodeQueue.enqueue({ id: 424242, revision: 1, sourceKey: "sources/none.mp4" });
});

afterAll(async () => {
  await api?.stop();
});

async function scrape(base = api.url, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return response.text();
}

describe("HTTP requests", () => {
  test("are counted by route template and status, never by raw path; unmatched ones share one label", async () => {
    for (const id of [7001, 7002, 7003])
      expect((await fetch(`${api.url}/api/video/${id}/720p/seg_00001.ts`)).status).toBe(401);
    expect((await fetch(`${api.url}/no-such-path-${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect((await viewer.get("/api/me/")).status).toBe(200);
    // Playback answers with a Response of its own: its status (206) is the one counted.
    const poster = `/api/video/${listedVideoId}/thumbnails/poster-320.jpg`;
    expect((await fetch(`${api.url}${poster}`, { headers: { range: "bytes=0-3" } })).status).toBe(206);
    await Bun.sleep(20); // counted after the answer went out

    const text = await scrape();
    const segment = { method: "GET", route: "/api/video/:id/:res/:file" };
    expect(sample(text, "http_requests_total", { ...segment, status: "401" })).toBe(3);
    expect(sample(text, "http_requests_total", { method: "GET", route: "unmatched", status: "404" })).toBe(1);
    expect(sample(text, "http_requests_total", { method: "GET", route: "/api/me/", status: "200" })).toBe(1);
    expect(
      sample(text, "http_requests_total", {
        method: "GET",
        route: "/api/video/:id/:res/:file",
        status: "206",
      }),
    ).toBe(1);
    // No label holds a raw path or id (a sample's value may: RSS bytes once started with 7001).
    const labelValues = [...text.matchAll(/="([^"]*)"/g)].map((match) => match[1]!);
    expect(labelValues.some((value) => value.includes("7001"))).toBe(false);
    expect(labelValues.some((value) => value.includes("no-such-path"))).toBe(false);
    expect(labelValues).toContain("/api/video/:id/:res/:file");
    // Scrapes are not requests the service answers for its users.
    expect(text).not.toContain('route="/metrics"');

    // The histogram has no status label: the three 401s and the 206.
    expect(sample(text, "http_request_duration_seconds_count", segment)).toBe(4);
    expect(sample(text, "http_request_duration_seconds_sum", segment)).toBeGreaterThan(0);
    expect(sample(text, "http_request_duration_seconds_bucket", { ...segment, le: "+Inf" })).toBe(4);
    expect(sample(text, "http_request_duration_seconds_bucket", { ...segment, le: "30" })).toBe(4);
    expect(text).toContain("# TYPE http_request_duration_seconds histogram");
    // Default process metrics are in the same registry.
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});

describe("WebSockets", () => {
  test("the connection gauge goes up while a socket is open and back down when it closes", async () => {
    const cookie = [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const ws = new WebSocket(`${api.url.replace("http", "ws")}/api/ws`, { headers: { cookie } } as never);
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("message", () => resolve(), { once: true }); // the welcome
      ws.addEventListener("error", () => reject(new Error("socket failed")));
    });
    expect(sample(await scrape(), "websocket_connections")).toBe(1);

    ws.close(1000);
    await closed;
    await eventually("gauge back to 0", async () => sample(await scrape(), "websocket_connections") === 0);
    expect(sample(await scrape(), "websocket_disconnections_total", { reason: "normal" })).toBe(1);
  });
});

describe("watch progress", () => {
  test("heartbeats are counted, and the flusher's rows per flush observed", async () => {
    for (const position of [10, 12])
      expect(
        (await viewer.request("PUT", `/api/progress/${listedVideoId}`, { position_seconds: position }))
          .status,
      ).toBe(204);
    expect(sample(await scrape(), "progress_heartbeats_total")).toBe(2);
    const text = await eventually(
      "a flush observed",
      async () => {
        const text = await scrape();
        return (sample(text, "progress_flush_rows_count") ?? 0) >= 1 ? text : undefined;
      },
      5000,
    );
    // One user and one video: every flush wrote one row (two heartbeats in one interval coalesce).
    const flushes = sample(text, "progress_flush_rows_count");
    expect(sample(text, "progress_flush_rows_sum")).toBe(flushes!);
    expect(sample(text, "progress_flush_rows_bucket", { le: "1" })).toBe(flushes!);
    expect(sample(text, "progress_flush_duration_seconds_count")).toBe(flushes!);
  });
});

describe("transcode queue", () => {
  test("job counts by state, read from BullMQ", async () => {
    const text = await scrape();
    expect(sample(text, "transcode_queue_jobs", { state: "waiting" })).toBe(1);
    for (const state of ["active", "delayed", "failed", "completed"])
      expect(sample(text, "transcode_queue_jobs", { state })).toBe(0);
  });

  test("while Redis does not answer, a scrape still answers within 2 s, without the queue's series", async () => {
    // A peer that accepts the connection and never answers (a hung Redis), and BullMQ's kind of
    // connection to it, which waits forever.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const connection = new Redis(`redis://127.0.0.1:${silent.port}`, { maxRetriesPerRequest: null });
    connection.on("error", () => {});
    const queue = new TranscodeQueue(connection, { attempts: 1, backoffSeconds: 1 });
    queue.queue.on("error", () => {});
    const { app, close } = await appWith({}, undefined, queue);
    try {
      const started = performance.now();
      const response = await app.handle(new Request("http://localhost/metrics"));
      expect(response.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(3000);
      expect(performance.now() - started).toBeGreaterThan(1900);
      const text = await response.text();
      expect(text).toContain("# TYPE transcode_queue_jobs gauge");
      expect(sample(text, "transcode_queue_jobs", { state: "waiting" })).toBeUndefined();
    } finally {
      await close();
      connection.disconnect();
      silent.stop(true);
    }
  });
});

/** The real app on the test services, answering through `app.handle`, with its own config and logger. */
async function appWith(
  config: Partial<Config>,
  log = pino({ level: "silent" }),
  transcodeQueue = api.runtime.transcodeQueue,
) {
  const mailer = createMailer({ smtpUrl: api.smtp.url, from: api.config.mailFrom, mailDir: "unused", log });
  const appConfig = { ...api.config, ...config };
  const services = buildServices({
    config: appConfig,
    database: api.database,
    redis: api.redis,
    bus: api.runtime.bus,
    mailer,
    log,
    background: new BackgroundTasks(log),
    clock: { now: () => new Date() },
    storage: api.runtime.storage,
    transcodeQueue,
    dashboardQueues: [],
  });
  const app = await createApp({ config: appConfig, log, services });
  return { app, close: () => mailer.close() };
}

describe("METRICS_TOKEN", () => {
  test("when set, a scrape needs `Authorization: Bearer <token>`: 401 JSON without or with a wrong one", async () => {
    const { app, close } = await appWith({ metricsToken: TOKEN });
    try {
      const get = (headers: Record<string, string> = {}) =>
        app.handle(new Request("http://localhost/metrics", { headers }));
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Bearer wrong-token-0123456789" },
        { authorization: TOKEN },
      ];
      for (const headers of attempts) {
        const refused = await get(headers);
        expect(refused.status).toBe(401);
        expect(refused.headers.get("www-authenticate")).toContain("Bearer");
        expect(await refused.json()).toEqual({ detail: "A valid metrics bearer token is required." });
      }
      const allowed = await get({ authorization: `Bearer ${TOKEN}` });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain("# TYPE http_requests_total counter");
    } finally {
      await close();
    }
  });

  test("unset, the endpoint is open (the edge keeps it off the internet)", async () => {
    expect(api.config.metricsToken).toBeNull();
    await scrape();
  });
});

describe("request log", () => {
  test("one JSON line per request with its id, echoed in X-Request-Id; a sane incoming id is kept", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { app, close } = await appWith({}, log);
    try {
      const kept = await app.handle(
        new Request("http://localhost/health", { headers: { "x-request-id": "edge-1234.abc_DEF" } }),
      );
      expect(kept.headers.get("x-request-id")).toBe("edge-1234.abc_DEF");
      const replaced = await app.handle(
        new Request("http://localhost/health", { headers: { "x-request-id": "no spaces <allowed>" } }),
      );
      const fresh = replaced.headers.get("x-request-id");
      expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
      const missing = await app.handle(new Request("http://localhost/nothing-here"));
      expect(missing.status).toBe(404);
      const scraped = await app.handle(new Request("http://localhost/metrics"));
      expect(scraped.status).toBe(200);
      await Bun.sleep(20);

      const requests = lines.filter((line) => line.msg === "request");
      expect(requests.map((line) => [line.req_id, line.path, line.status])).toEqual([
        ["edge-1234.abc_DEF", "/health", 200],
        [fresh, "/health", 200],
        [missing.headers.get("x-request-id"), "/nothing-here", 404],
        // the scrape is logged at debug only
      ]);
    } finally {
      await close();
    }
  });
});
