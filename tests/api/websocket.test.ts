// GET /api/ws against the real app, real Redis and PostgreSQL: the upgrade's checks, progress for
// admins only, catalogue events for everyone, fan-out across two replicas, ping/pong, a slow client
// that never reads, and logout closing the sockets.
//
// Layout: `apiA` consumes the transcoders' state events (it applies them and republishes on Redis);
// `apiB` is a second replica on the same database and Redis that consumes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import Redis from "ioredis";
import { decodeJwt } from "jose";
import { CloseCodes } from "../../api/realtime/model.ts";
import { progressChannel, type TranscodeProgress } from "../../contract/progress.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import { ADMIN_ENV, adminClient, createVideo } from "../support/admin.ts";
import { fabricatedResult, publishTree } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { cookieOf, FRONTEND, TestSocket } from "../support/test-socket.ts";

const PUBLIC_URL = "http://api.videoflix.test";

let apiA: TestApi;
let apiB: TestApi;
let admin: Client;
let viewer: Client;
let bull: Redis;
let plain: Redis;
let reporter: TranscodeReporter;

beforeAll(async () => {
  apiA = await startTestApi({ ...ADMIN_ENV, PUBLIC_URL });
  [apiB, admin, viewer] = await Promise.all([
    startTestApi({}, { shareWith: apiA, consumeEvents: false }),
    adminClient(apiA),
    loggedInClient(apiA),
  ]);
  // What a transcoder has: connections to the api's Redis that retry forever.
  bull = new Redis(apiA.config.redisUrl, { maxRetriesPerRequest: null });
  plain = new Redis(apiA.config.redisUrl, { maxRetriesPerRequest: null });
  reporter = new TranscodeReporter(bull, plain);
});

afterAll(async () => {
  TestSocket.closeAll();
  await reporter?.close();
  bull?.disconnect();
  plain?.disconnect();
  await apiB?.stop();
  await apiA?.stop();
});

/**
 * A client that does the upgrade handshake by hand over TCP: to see the answer's status, and to be
 * a client that stops reading.
 */
async function rawUpgrade(
  api: TestApi,
  headers: Record<string, string>,
): Promise<{ status: number; socket: Socket; received: () => string }> {
  const { port } = new URL(api.url);
  let text = "";
  let resolveHead: (status: number) => void = () => {};
  const head = new Promise<number>((resolve) => {
    resolveHead = resolve;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: Number(port),
    socket: {
      data(_socket, data) {
        text += data.toString("latin1");
        const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (match && text.includes("\r\n\r\n")) resolveHead(Number(match[1]));
      },
      close() {
        resolveHead(0);
      },
    },
  });
  const lines = Object.entries({
    host: `127.0.0.1:${port}`,
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
    "sec-websocket-version": "13",
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`GET /api/ws HTTP/1.1\r\n${lines.join("")}\r\n`);
  return { status: await head, socket, received: () => text };
}

/** One masked text frame, as a client must send it. */
function clientFrame(message: unknown): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify(message));
  if (payload.length > 125) throw new Error("test frames stay short");
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const frame = new Uint8Array(6 + payload.length);
  frame.set([0x81, 0x80 | payload.length, ...mask]);
  payload.forEach((byte, i) => {
    frame[6 + i] = byte ^ mask[i % 4]!;
  });
  return frame;
}

const tick = (videoId: number, percent: number, stage: TranscodeProgress["stage"] = "encoding") =>
  ({
    videoId,
    revision: 1,
    stage,
    percent,
    rung: "all",
    speed: 4,
    etaSeconds: 12,
  }) satisfies TranscodeProgress;

const at = () => new Date().toISOString();

describe("the upgrade", () => {
  test("is refused with 401 without a session cookie, and with a bad one", async () => {
    const anonymous = await rawUpgrade(apiA, { origin: FRONTEND });
    expect(anonymous.status).toBe(401);
    expect(anonymous.received()).toContain("Authentication credentials were not provided.");
    anonymous.socket.end();
    const forged = await rawUpgrade(apiA, { origin: FRONTEND, cookie: "access_token=not.a.jwt" });
    expect(forged.status).toBe(401);
    forged.socket.end();
    const socket = new TestSocket(apiA, null);
    expect((await socket.waitClosed()).code).not.toBe(1000);
  });

  test("is refused with 403 from a foreign Origin, even with a valid session", async () => {
    const foreign = await rawUpgrade(apiA, { origin: "http://evil.test", cookie: cookieOf(viewer) });
    expect(foreign.status).toBe(403);
    expect(foreign.received()).toContain("Origin is not allowed");
    foreign.socket.end();
  });

  test("is accepted from the public origin, a CORS origin, and without an Origin (not a browser)", async () => {
    for (const origin of [PUBLIC_URL, FRONTEND, null]) {
      const socket = new TestSocket(apiA, viewer, origin);
      const welcome = await socket.next((m) => m.type === "welcome");
      expect(welcome).toMatchObject({ type: "welcome", is_admin: false });
      expect(Date.parse(welcome.session_expires_at)).toBeGreaterThan(Date.now());
      socket.close();
    }
  });
});

describe("messages", () => {
  test("ping is answered with pong, echoing the id", async () => {
    const socket = await TestSocket.open(apiA, viewer);
    socket.send({ type: "ping", id: "p-1" });
    expect(await socket.next((m) => m.type === "pong")).toMatchObject({ type: "pong", id: "p-1" });
    socket.close();
  });

  test("bad messages get an error message, and the socket stays open", async () => {
    const socket = await TestSocket.open(apiA, admin);
    socket.send("not json");
    socket.send({ type: "dance" });
    socket.send({ type: "subscribe", video_id: "seven" });
    const errors = await Promise.all([
      socket.next((m) => m.type === "error" && m.code === "bad_message"),
      socket.next((m) => m.type === "error" && m.code === "unknown_type"),
    ]);
    expect(errors).toHaveLength(2);
    socket.send({ type: "ping" });
    await socket.next((m) => m.type === "pong");
    expect(socket.closed).toBeNull();
    socket.close();
  });
});

describe("transcoding progress", () => {
  test("an admin who follows a video receives its progress from a transcoder's report", async () => {
    const video = await createVideo(apiA, admin);
    const socket = await TestSocket.open(apiA, admin);
    socket.send({ type: "subscribe", video_id: video.id });
    await socket.next((m) => m.type === "subscribed" && m.video_id === video.id);
    const before = Date.now();
    await reporter.progress(tick(video.id, 42.25));
    const progress = await socket.next((m) => m.type === "video.progress");
    expect(progress).toEqual({
      type: "video.progress",
      id: video.id,
      revision: 1,
      state: "processing",
      percent: 42.3,
      stage: "encoding",
      eta_seconds: 12,
      at: expect.any(Number),
    });
    // Stamped by the reporter when it publishes: what clients measure delivery latency against.
    expect(progress.at).toBeGreaterThanOrEqual(before);
    expect(progress.at).toBeLessThanOrEqual(Date.now());
    socket.close();
  });

  test("a tick keeps the time its transcoder stamped, and one without a time carries null", async () => {
    const socket = await TestSocket.open(apiA, admin);
    socket.send({ type: "subscribe", video_id: 9051 });
    await socket.next((m) => m.type === "subscribed" && m.video_id === 9051);
    await reporter.progress({ ...tick(9051, 30), at: 1_764_000_000_123 });
    expect(await socket.next((m) => m.type === "video.progress" && m.percent === 30)).toMatchObject({
      at: 1_764_000_000_123,
    });
    // A transcoder from before the field existed publishes ticks without it.
    await plain.publish(progressChannel.nameOn(plain), JSON.stringify(tick(9051, 31)));
    expect(await socket.next((m) => m.type === "video.progress" && m.percent === 31)).toMatchObject({
      at: null,
    });
    socket.close();
  });

  test("an admin who follows all uploads receives every video's progress, once", async () => {
    const socket = await TestSocket.open(apiA, admin);
    socket.send({ type: "subscribe", video_id: 9001 });
    socket.send({ type: "subscribe", all_uploads: true });
    await socket.next((m) => m.type === "subscribed" && m.all_uploads === true);
    await reporter.progress(tick(9001, 10));
    await reporter.progress(tick(9002, 20, "queued"));
    await socket.next((m) => m.type === "video.progress" && m.id === 9002);
    expect(socket.messages.filter((m) => m.type === "video.progress")).toMatchObject([
      { id: 9001, percent: 10, state: "processing" },
      { id: 9002, percent: 20, state: "pending", stage: "queued" },
    ]);
    socket.close();
  });

  test("a viewer may not follow progress and never sees another upload's progress", async () => {
    const socket = await TestSocket.open(apiA, viewer);
    socket.send({ type: "subscribe", video_id: 9101 });
    socket.send({ type: "subscribe", all_uploads: true });
    const refusal = await socket.next((m) => m.type === "error");
    expect(refusal).toMatchObject({ code: "forbidden" });
    await reporter.progress(tick(9101, 50));
    // An admin subscribed after the viewer sees the tick: by then the viewer would have had it too.
    const watcher = await TestSocket.open(apiA, admin);
    watcher.send({ type: "subscribe", video_id: 9101 });
    await watcher.next((m) => m.type === "subscribed");
    await reporter.progress(tick(9101, 60));
    await watcher.next((m) => m.type === "video.progress" && m.percent === 60);
    socket.send({ type: "ping" });
    await socket.next((m) => m.type === "pong");
    expect(socket.messages.filter((m) => m.type === "video.progress")).toEqual([]);
    expect(socket.messages.filter((m) => m.type === "error")).toHaveLength(2);
    socket.close();
    watcher.close();
  });
});

describe("catalogue events", () => {
  test("video.ready reaches a viewer on either replica; processing and error reach admins only", async () => {
    const video = await createVideo(apiA, admin);
    // The viewer on replica B; replica A applies the transcoder's events.
    const [onA, onB, adminOnB] = await Promise.all([
      TestSocket.open(apiA, viewer),
      TestSocket.open(apiB, viewer),
      TestSocket.open(apiB, admin),
    ]);
    const processing: TranscodeReport = {
      type: "processing",
      videoId: video.id,
      revision: 1,
      attempt: 1,
      worker: "test-transcoder",
      at: at(),
    };
    await reporter.report(processing);
    expect(await adminOnB.next((m) => m.type === "video.updated" && m.id === video.id)).toEqual({
      type: "video.updated",
      id: video.id,
      state: "processing",
      processing_error: null,
    });
    const result = fabricatedResult();
    publishTree(apiA.config.mediaRoot, video.id, 1, result);
    await reporter.report({ type: "ready", videoId: video.id, revision: 1, result, at: at() });
    for (const socket of [onA, onB, adminOnB]) {
      expect(await socket.next((m) => m.type === "video.ready")).toEqual({
        type: "video.ready",
        id: video.id,
      });
    }
    expect(onB.messages.filter((m) => m.type === "video.updated")).toEqual([]);
    for (const socket of [onA, onB, adminOnB]) socket.close();
  });

  test("a new upload reaches the admins on every replica at once, and no viewer", async () => {
    const [adminOnA, adminOnB, viewerOnB] = await Promise.all([
      TestSocket.open(apiA, admin),
      TestSocket.open(apiB, admin),
      TestSocket.open(apiB, viewer),
    ]);
    const video = await createVideo(apiB, admin);
    for (const socket of [adminOnA, adminOnB]) {
      expect(await socket.next((m) => m.type === "video.created" && m.id === video.id)).toEqual({
        type: "video.created",
        id: video.id,
        revision: 1,
      });
    }
    // A later event on the same path has reached the viewer by now: the creation never will.
    await reporter.report({
      type: "ready",
      videoId: video.id,
      revision: 1,
      result: fabricatedResult(),
      at: at(),
    });
    await viewerOnB.next((m) => m.type === "video.ready" && m.id === video.id);
    expect(viewerOnB.messages.filter((m) => m.type === "video.created")).toEqual([]);
    for (const socket of [adminOnA, adminOnB, viewerOnB]) socket.close();
  });

  test("edits and deletes by an admin on one replica reach viewers on the other", async () => {
    const video = await createVideo(apiA, admin);
    const onB = await TestSocket.open(apiB, viewer);
    const edited = await admin.request("PATCH", `/api/admin/videos/${video.id}`, { title: "Renamed" });
    expect(edited.status).toBe(200);
    expect(await onB.next((m) => m.type === "video.updated")).toEqual({
      type: "video.updated",
      id: video.id,
    });
    const deleted = await admin.request("DELETE", `/api/admin/videos/${video.id}`);
    expect(deleted.status).toBeLessThan(300);
    expect(await onB.next((m) => m.type === "video.deleted")).toEqual({
      type: "video.deleted",
      id: video.id,
    });
    onB.close();
  });

  test("progress published once reaches admins on both replicas", async () => {
    const [onA, onB] = await Promise.all([TestSocket.open(apiA, admin), TestSocket.open(apiB, admin)]);
    for (const socket of [onA, onB]) {
      socket.send({ type: "subscribe", video_id: 9201 });
      await socket.next((m) => m.type === "subscribed");
    }
    await reporter.progress(tick(9201, 77));
    for (const socket of [onA, onB]) await socket.next((m) => m.type === "video.progress" && m.id === 9201);
    onA.close();
    onB.close();
  });
});

describe("watch progress", () => {
  test("player heartbeats over the socket are recorded, acknowledged, and refused when bad", async () => {
    const video = await createVideo(apiA, admin);
    const socket = await TestSocket.open(apiB, viewer);
    const result = fabricatedResult(120);
    publishTree(apiA.config.mediaRoot, video.id, 1, result);
    await reporter.report({ type: "ready", videoId: video.id, revision: 1, result, at: at() });
    await socket.next((m) => m.type === "video.ready" && m.id === video.id);

    socket.send({ type: "progress", video_id: video.id, position_seconds: 42.5, sent_at: Date.now() });
    expect(await socket.next((m) => m.type === "progress.saved")).toEqual({
      type: "progress.saved",
      video_id: video.id,
      position_seconds: 42.5,
    });
    const row = (await (await viewer.get("/api/progress/")).json()) as Array<{
      id: number;
      position_seconds: number;
    }>;
    expect(row.find((item) => item.id === video.id)?.position_seconds).toBe(42.5);

    socket.send({ type: "progress", video_id: video.id, position_seconds: -3 });
    expect(await socket.next((m) => m.type === "error")).toMatchObject({ code: "bad_message" });
    socket.send({ type: "progress", video_id: 987_654, position_seconds: 3 });
    expect(await socket.next((m) => m.type === "error" && m.code === "not_found")).toBeTruthy();
    // A socket may send 20 heartbeats per 10 s (players send one every few seconds).
    for (let i = 0; i < 20; i++)
      socket.send({ type: "progress", video_id: video.id, position_seconds: 50 + i });
    expect(await socket.next((m) => m.type === "error" && m.code === "rate_limited")).toBeTruthy();
    socket.close();
  });
});

describe("slow clients", () => {
  test("a client that never reads is disconnected while the others keep getting events promptly", async () => {
    const slow = await rawUpgrade(apiA, { cookie: cookieOf(admin), origin: FRONTEND });
    expect(slow.status).toBe(101);
    slow.socket.write(clientFrame({ type: "subscribe", all_uploads: true }));
    const deadline = Date.now() + 5000;
    while (!slow.received().includes('"subscribed"') && Date.now() < deadline) await Bun.sleep(10);
    expect(slow.received()).toContain('"subscribed"');
    slow.socket.pause(); // from now on it never reads: its kernel buffers fill, then Bun's queue

    const fast = await TestSocket.open(apiA, admin);
    fast.send({ type: "subscribe", all_uploads: true });
    await fast.next((m) => m.type === "subscribed");
    const server = apiA.runtime.app.server!;
    expect(server.subscriberCount("admin:uploads")).toBe(2);

    // ~60,000 progress ticks (≈ 9 MB to each follower), published as transcoders would, in batches.
    const padding = "x".repeat(40);
    const total = 60_000;
    for (let sent = 0; sent < total; sent += 2000) {
      const batch = plain.pipeline();
      for (let i = sent; i < sent + 2000; i++) {
        batch.publish(
          progressChannel.nameOn(plain),
          JSON.stringify({ ...tick(9300, (i % 1000) / 10), stage: "encoding", padding }),
        );
      }
      await batch.exec();
    }
    // The marker after the flood reaches the reading client promptly.
    const started = performance.now();
    await reporter.progress(tick(9301, 99));
    await fast.next((m) => m.type === "video.progress" && m.id === 9301, 5000);
    const markerMs = performance.now() - started;
    expect(markerMs).toBeLessThan(1000);
    expect(fast.messages.filter((m) => m.type === "video.progress" && m.id === 9300)).toHaveLength(total);
    expect(fast.closed).toBeNull();

    // Bun closed the one that did not read (backpressure limit), and only that one.
    expect(server.subscriberCount("admin:uploads")).toBe(1);
    slow.socket.terminate();
    fast.close();
  });
});

describe("session end", () => {
  test("a socket is closed when the access token it was opened with expires", async () => {
    const user = await loggedInClient(apiA);
    // Replica B's clock is moved to 1.5 s before the token's expiry: still valid at the upgrade.
    const expiresAtMs = (decodeJwt(user.cookies.get("access_token")!).exp ?? 0) * 1000;
    const shift = (expiresAtMs - Date.now() - 1500) / 1000;
    apiB.shiftClock(shift);
    try {
      const socket = await TestSocket.open(apiB, user);
      const opened = performance.now();
      expect(await socket.waitClosed(5000)).toEqual({
        code: CloseCodes.sessionExpired,
        reason: "session expired",
      });
      expect(performance.now() - opened).toBeGreaterThan(500);
    } finally {
      apiB.shiftClock(-shift);
    }
  });

  test("logout closes the user's sockets on every replica", async () => {
    const user = await loggedInClient(apiA);
    const [onA, onB] = await Promise.all([TestSocket.open(apiA, user), TestSocket.open(apiB, user)]);
    const bystander = await TestSocket.open(apiB, viewer);
    const response = await user.post("/api/logout/");
    expect(response.status).toBe(200);
    for (const socket of [onA, onB]) {
      expect(await socket.waitClosed()).toEqual({
        code: CloseCodes.sessionRevoked,
        reason: "session revoked",
      });
    }
    bystander.send({ type: "ping" });
    await bystander.next((m) => m.type === "pong");
    expect(bystander.closed).toBeNull();
    bystander.close();
  });
});
