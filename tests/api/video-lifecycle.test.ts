// The video lifecycle's announcements on the event bus, as another replica sees them on Redis: every
// change once, creation included, in the order it happened; and the bus's one decode per message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import pino from "pino";
import { EventBus } from "../../api/shared/event-bus.ts";
import { videoChanges } from "../../contract/video-changes.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import { ADMIN_ENV, adminClient, createVideo, replaceFile } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import type { Client, TestApi } from "../support/test-api.ts";
import { startTestApi } from "../support/test-api.ts";
import { videoEventsQueue } from "../support/transcoder.ts";

let api: TestApi;
let admin: Client;
let listener: Redis;
let bull: Redis;
let plain: Redis;
let reporter: TranscodeReporter;
// biome-ignore lint/suspicious/noExplicitAny: messages are checked field by field
const heard: Array<Record<string, any>> = [];

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV);
  admin = await adminClient(api);
  listener = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  // The bus test below publishes garbage on the same channel: only JSON objects are kept here.
  listener.on("message", (_channel, text) => {
    if (text.startsWith("{")) heard.push(JSON.parse(text));
  });
  await listener.subscribe(videoChanges.nameOn(listener));
  bull = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  plain = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  reporter = new TranscodeReporter(bull, plain);
});

afterAll(async () => {
  await reporter?.close();
  for (const client of [listener, bull, plain]) client?.disconnect();
  await api?.stop();
});

const of = (id: number) => heard.filter((message) => message.id === id);

describe("announcements", () => {
  test("upload, edit, error, retry, replace and delete: each announced once, in order", async () => {
    const video = await createVideo(api, admin, { title: "Lifecycle" });
    await eventually("created announced", async () => of(video.id).length === 1);
    expect(of(video.id)).toEqual([{ type: "video.created", id: video.id, revision: 1 }]);

    expect((await admin.request("PATCH", `/api/admin/videos/${video.id}`, { title: "Renamed" })).status).toBe(
      200,
    );
    const at = new Date().toISOString();
    await reporter.report({ type: "error", videoId: video.id, revision: 1, message: "no video stream", at });
    // The same report again (a redelivery) moves nothing, so it is not announced again.
    await reporter.report({ type: "error", videoId: video.id, revision: 1, message: "no video stream", at });
    await eventually("error announced", async () => of(video.id).some((m) => m.state === "error"));
    // Both reports applied before the retry (a flake seen once): a duplicate still queued when the retry
    // lands finds the video pending again, and reports name a revision, not a retry, so it would move it.
    const reports = videoEventsQueue(bull);
    try {
      await eventually("both reports applied", async () => {
        const counts = await reports.getJobCounts("wait", "active", "delayed", "prioritized");
        return Object.values(counts).every((n) => n === 0);
      });
    } finally {
      await reports.close();
    }
    expect((await admin.post(`/api/admin/videos/${video.id}/retry`)).status).toBe(202);
    expect((await replaceFile(api, admin, video.id, await tinyMp4Bytes())).status).toBe(202);
    expect((await admin.request("DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);

    await eventually("delete announced", async () => of(video.id).some((m) => m.type === "video.deleted"));
    await Bun.sleep(200); // a duplicate would have arrived by now
    expect(of(video.id)).toEqual([
      { type: "video.created", id: video.id, revision: 1 },
      { type: "video.updated", id: video.id },
      { type: "video.state", id: video.id, revision: 1, state: "error", processing_error: "no video stream" },
      { type: "video.updated", id: video.id },
      { type: "video.updated", id: video.id },
      { type: "video.deleted", id: video.id },
    ]);
  });
});

describe("the event bus", () => {
  test("a malformed message is dropped with a log line; the valid ones reach every handler", async () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const subscriber = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
    const bus = new EventBus({ subscriber, publisher: api.redis, log });
    const first: unknown[] = [];
    const second: unknown[] = [];
    bus.on(videoChanges, (change) => first.push(change));
    bus.on(videoChanges, (change) => {
      second.push(change);
      throw new Error("a handler that fails does not keep the others from their messages");
    });
    await bus.ready();
    try {
      await plain.publish(videoChanges.nameOn(plain), "not json");
      await plain.publish(videoChanges.nameOn(plain), JSON.stringify({ type: "video.updated", id: "seven" }));
      await bus.publish(videoChanges, { type: "video.deleted", id: 424242 });
      await eventually("the valid message arrived", async () => first.length === 1);
      expect(first).toEqual([{ type: "video.deleted", id: 424242 }]);
      expect(second).toEqual(first);
      const dropped = lines.map((line) => JSON.parse(line)).filter((line) => line.msg?.includes("malformed"));
      expect(dropped.map((line) => line.reason)).toEqual(["not JSON", expect.stringContaining("/id")]);
      expect(await bus.caughtUp(videoChanges)).toBe(true);
    } finally {
      subscriber.disconnect();
    }
  });
});
