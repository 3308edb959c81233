// Watch progress: heartbeats coalesced in Redis, flushed to PostgreSQL in batches (one row per user and
// video, the latest by client time), "continue watching", isolation between users and bad input.
// The apis run with a flush interval of an hour: flushes happen when a test asks (or on stop).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import pino from "pino";
import type { ApiError } from "../../api/http/errors.ts";
import { ProgressFlusher } from "../../api/progress/flusher.ts";
import { WatchProgressService } from "../../api/progress/service.ts";
import { ProgressStore } from "../../api/progress/store.ts";
import { categories, videos, watchProgress } from "../../db/schema/index.ts";
import { fabricatedResult } from "../support/fixtures.ts";
import { Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const PUBLIC_URL = "http://api.videoflix.test";
const ENV = { PUBLIC_URL, PROGRESS_FLUSH_INTERVAL_SECONDS: "3600" };

let api: TestApi;
let flusher: ProgressFlusher;
let categoryId: number;

beforeAll(async () => {
  api = await startTestApi(ENV, { consumeEvents: false });
  flusher = new ProgressFlusher({
    db: api.database.db,
    redis: api.redis,
    log: pino({ level: "silent" }),
    intervalSeconds: 3600,
  });
  const [category] = await api.database.db.insert(categories).values({ name: "Progress" }).returning();
  categoryId = category!.id;
});

afterAll(async () => {
  await api?.stop();
});

/** A video as the catalogue lists it once a transcoder published it (or not yet, `published: false`). */
async function listedVideo(durationSeconds = 100, published = true, title = "A clip") {
  const [video] = await api.database.db
    .insert(videos)
    .values({
      title,
      categoryId,
      sourceKey: `sources/${crypto.randomUUID()}`,
      sourceBytes: 1000,
      processingState: published ? "ready" : "pending",
      publishedRevision: published ? 1 : null,
      durationSeconds: published ? durationSeconds : null,
      posters: published ? fabricatedResult().posters : [],
    })
    .returning();
  return video!;
}

const heartbeat = (client: Client, videoId: number | string, body: unknown) =>
  client.request("PUT", `/api/progress/${videoId}`, body);

async function userIdOf(client: Client): Promise<number> {
  return ((await (await client.get("/api/me/")).json()) as { id: number }).id;
}

async function rowsOf(videoId: number) {
  return api.database.db.select().from(watchProgress).where(eq(watchProgress.videoId, videoId));
}

async function continueWatching(client: Client) {
  const response = await client.get("/api/progress/");
  expect(response.status).toBe(200);
  return (await response.json()) as Array<{
    id: number;
    title: string;
    thumbnail_url: string | null;
    duration_seconds: number;
    position_seconds: number;
    percent: number;
    updated_at: string;
  }>;
}

describe("heartbeats", () => {
  test("many heartbeats, sent out of order, become one row with the latest position by sent_at", async () => {
    const viewer = await loggedInClient(api);
    const video = await listedVideo(600);
    const start = Date.now() - 60_000;
    const beats = Array.from({ length: 30 }, (_, i) => ({
      position_seconds: i * 2,
      sent_at: start + i * 1000,
    }));
    const shuffled = [...beats].sort(() => Math.random() - 0.5);
    // The newest arrives first, so every later one is older than what is pending.
    shuffled.unshift(shuffled.splice(shuffled.indexOf(beats.at(-1)!), 1)[0]!);
    for (const beat of shuffled) {
      const response = await heartbeat(viewer, video.id, beat);
      expect(response.status, await response.text()).toBe(204);
    }
    expect(await rowsOf(video.id)).toHaveLength(0);
    // Not flushed yet, but already on the user's row.
    expect((await continueWatching(viewer)).find((item) => item.id === video.id)?.position_seconds).toBe(58);

    const stats = await flusher.flush();
    expect(stats.entries).toBeGreaterThanOrEqual(1);
    const rows = await rowsOf(video.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.positionSeconds).toBe(58);
    expect(rows[0]!.clientSentAt.getTime()).toBe(start + 29_000);

    // A straggler older than the stored row is flushed but changes nothing.
    expect((await heartbeat(viewer, video.id, { position_seconds: 3, sent_at: start })).status).toBe(204);
    await flusher.flush();
    expect((await rowsOf(video.id))[0]!.positionSeconds).toBe(58);
    // An ISO sent_at and a newer position win.
    const iso = new Date(start + 40_000).toISOString();
    expect((await heartbeat(viewer, video.id, { position_seconds: 70.5, sent_at: iso })).status).toBe(204);
    await flusher.flush();
    const [row] = await rowsOf(video.id);
    expect(row!.positionSeconds).toBe(70.5);
    expect(row!.clientSentAt.toISOString()).toBe(iso);
  });

  test("two flushers at once take disjoint entries: every user-video is written exactly once", async () => {
    const service = new WatchProgressService({
      db: api.database.db,
      redis: api.redis,
      config: api.config,
      clock: { now: () => new Date() },
    });
    const userId = await userIdOf(await loggedInClient(api));
    const clips = await Promise.all(Array.from({ length: 40 }, () => listedVideo(300)));
    await flusher.flush();
    const now = Date.now();
    await Promise.all(clips.map((clip, i) => service.record(userId, clip.id, i + 1, now)));
    const other = new ProgressFlusher({
      db: api.database.db,
      redis: api.redis,
      log: pino({ level: "silent" }),
      intervalSeconds: 3600,
    });
    const [a, b] = await Promise.all([flusher.flush(), other.flush()]);
    expect(a.entries + b.entries).toBe(40);
    expect(a.written + b.written).toBe(40);
    for (const [i, clip] of clips.entries()) {
      const rows = await rowsOf(clip.id);
      expect(rows.map((r) => r.positionSeconds)).toEqual([i + 1]);
    }
  });

  test("a batch left behind by a flusher that died is taken over once it is stale", async () => {
    const store = new ProgressStore(api.redis);
    await flusher.flush();
    const entry = { userId: 1, videoId: 1, positionSeconds: 12, sentAtMs: Date.now() };
    await store.put(entry);
    const now = Date.now();
    const dead = await store.take("dead", 60_000, now);
    expect(dead.entries).toEqual([entry]);
    expect((await store.take("alive", 60_000, now + 1000)).entries).toEqual([]);
    const takenOver = await store.take("alive", 60_000, now + 61_000);
    expect(takenOver.entries).toEqual([entry]);
    await store.done(takenOver);
    expect((await store.take("alive", 60_000, now + 200_000)).entries).toEqual([]);
  });

  test("a batch in one script call: the latest per user-video wins, the dirty set and each user's TTL touched once", async () => {
    const store = new ProgressStore(api.redis, 900);
    await flusher.flush();
    // 8 users × 8 videos, arriving in one turn of the event loop, each pair twice: the older one last.
    const now = Date.now();
    const entries = Array.from({ length: 64 }, (_, i) => ({
      userId: 1_000_000 + Math.floor(i / 8),
      videoId: 1_000_000 + (i % 8),
      positionSeconds: i + 0.25,
      sentAtMs: now + i,
    }));
    await api.redis.config("RESETSTAT");
    await Promise.all([
      ...entries.map((entry) => store.put(entry)),
      ...entries.map((entry) => store.put({ ...entry, positionSeconds: 1, sentAtMs: entry.sentAtMs - 100 })),
    ]);
    const calls = (command: string, stats: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    const stats = await api.redis.info("commandstats");
    expect(calls("evalsha", stats) + calls("eval", stats)).toBeLessThanOrEqual(2); // EVAL after a NOSCRIPT
    // Once per shard and once per user (before: an SADD per written heartbeat, an EXPIRE per heartbeat).
    expect(calls("sadd", stats)).toBe(new Set(entries.map((entry) => entry.userId % 16)).size);
    expect(calls("expire", stats)).toBe(8);
    const user = entries[8]!.userId;
    expect(await api.redis.ttl(`vf:progress:user:${user}`)).toBeGreaterThan(800);
    const positions = await store.userPositions(user);
    expect([...positions.entries()].sort(([a], [b]) => a - b)).toEqual(
      entries
        .filter((entry) => entry.userId === user)
        .map((entry) => [
          entry.videoId,
          { positionSeconds: entry.positionSeconds, sentAtMs: entry.sentAtMs },
        ]),
    );
    const taken = await store.take("batch-test", 60_000);
    expect(taken.entries.sort((a, b) => a.sentAtMs - b.sentAtMs)).toEqual(entries);
    await store.done(taken);
  });

  test("while a call is on its way, the heartbeats of the next turns wait and go together in one call", async () => {
    const counted: number[] = [];
    const store = new ProgressStore(api.redis, 900, (heartbeats) => counted.push(heartbeats));
    const now = Date.now();
    await store.put({ userId: 2_000_000, videoId: 1, positionSeconds: 1, sentAtMs: now }); // the script loaded
    await flusher.flush();
    counted.length = 0;
    const entry = (i: number) => ({
      userId: 2_000_000 + i,
      videoId: 2_000_000,
      positionSeconds: i,
      sentAtMs: now + i,
    });
    await api.redis.config("RESETSTAT");
    // Redis holds writing commands for a moment: the first call stays unanswered while five more turns
    // of the event loop bring heartbeats (each turn would have been a call of its own before).
    await api.redis.client("PAUSE", 300, "WRITE");
    const sent = [entry(0)];
    const acknowledged = [store.put(sent[0]!)];
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 1; i <= 4; i++) {
        sent.push(entry(turn * 4 + i));
        acknowledged.push(store.put(sent.at(-1)!));
      }
    }
    await Promise.all(acknowledged);
    const stats = await api.redis.info("commandstats");
    expect(Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0)).toBe(2);
    expect(counted).toEqual([1, 20]);
    const taken = await store.take("in-flight-test", 60_000);
    expect(taken.entries.sort((a, b) => a.userId - b.userId)).toEqual(sent);
    await store.done(taken);
  });

  test("a heartbeat not newer than the user's latest changes nothing, flushed or not; without it the shard decides", async () => {
    const store = new ProgressStore(api.redis, 900);
    await flusher.flush();
    const now = Date.now();
    const at = (sentAtMs: number, positionSeconds: number) => ({
      userId: 3_000_000,
      videoId: 3_000_000,
      positionSeconds,
      sentAtMs,
    });
    await store.put(at(now, 50));
    const first = await store.take("newest-test", 60_000); // flushed: the shard is empty again
    await store.done(first);
    await store.put(at(now - 1000, 10)); // late, older than what the user's hash holds
    expect((await store.take("newest-test", 60_000)).entries).toEqual([]);
    expect(await store.userPosition(3_000_000, 3_000_000)).toEqual({ positionSeconds: 50, sentAtMs: now });
    // The user's hash gone (its TTL ran out): the pending shard still keeps the newest.
    await store.put(at(now + 1000, 60));
    await api.redis.del("vf:progress:user:3000000");
    await store.put(at(now + 500, 55));
    const taken = await store.take("newest-test", 60_000);
    expect(taken.entries).toEqual([at(now + 1000, 60)]);
    await store.done(taken);
  });

  test("a user hash's TTL is refreshed once a minute by a replica, and set whenever a video is new to it", async () => {
    const store = new ProgressStore(api.redis, 900);
    const now = Date.now();
    const userId = 4_000_000;
    const key = `vf:progress:user:${userId}`;
    const put = (videoId: number, sentAtMs: number) =>
      store.put({ userId, videoId, positionSeconds: 1, sentAtMs });
    const expires = async () =>
      Number(/cmdstat_expire:calls=(\d+)/.exec(await api.redis.info("commandstats"))?.[1] ?? 0);
    await api.redis.config("RESETSTAT");
    await put(1, now); // the first batch of this store: refreshed
    expect(await expires()).toBe(1);
    await api.redis.pexpire(key, 100_000); // (PEXPIRE: not counted as the script's EXPIRE)
    await put(1, now + 1); // the same video again within the minute: the TTL is left as it is
    expect(await expires()).toBe(1);
    expect(await api.redis.ttl(key)).toBeLessThanOrEqual(100);
    await put(2, now + 2); // a video new to the hash: set
    expect(await expires()).toBe(2);
    expect(await api.redis.ttl(key)).toBeGreaterThan(800);
    await api.redis.del(key); // gone (its TTL ran out, Redis restarted): made again with a TTL
    await put(1, now + 3);
    expect(await api.redis.ttl(key)).toBeGreaterThan(800);
    await store.done(await store.take("ttl-test", 60_000));
  });

  test("a graceful stop flushes pending heartbeats before the database closes", async () => {
    const replica = await startTestApi(ENV, { shareWith: api, consumeEvents: false });
    const viewer = await loggedInClient(replica);
    const video = await listedVideo(100);
    for (const position of [5, 10, 15]) {
      expect((await heartbeat(viewer, video.id, { position_seconds: position })).status).toBe(204);
      await Bun.sleep(2);
    }
    expect(await rowsOf(video.id)).toHaveLength(0);
    await replica.stop();
    const rows = await rowsOf(video.id);
    expect(rows.map((r) => r.positionSeconds)).toEqual([15]);
  });
});

describe("continue watching", () => {
  test("started, unfinished videos, most recent first; the 95% rule; unflushed positions win", async () => {
    const viewer = await loggedInClient(api);
    const [first, finished, unstarted, last] = await Promise.all([
      listedVideo(100, true, "First"),
      listedVideo(100, true, "Finished"),
      listedVideo(100, true, "Unstarted"),
      listedVideo(200, true, "Last"),
    ]);
    const t0 = Date.now() - 10_000;
    await heartbeat(viewer, first!.id, { position_seconds: 10, sent_at: t0 });
    await heartbeat(viewer, finished!.id, { position_seconds: 95, sent_at: t0 + 1000 });
    await heartbeat(viewer, unstarted!.id, { position_seconds: 0, sent_at: t0 + 2000 });
    await heartbeat(viewer, last!.id, { position_seconds: 189.9, sent_at: t0 + 3000 });

    const expected = [
      {
        id: last!.id,
        title: "Last",
        thumbnail_url: `${PUBLIC_URL}/api/video/${last!.id}/thumbnails/poster-640.jpg`,
        duration_seconds: 200,
        position_seconds: 189.9,
        percent: 95,
        updated_at: new Date(t0 + 3000).toISOString(),
      },
      {
        id: first!.id,
        title: "First",
        thumbnail_url: `${PUBLIC_URL}/api/video/${first!.id}/thumbnails/poster-640.jpg`,
        duration_seconds: 100,
        position_seconds: 10,
        percent: 10,
        updated_at: new Date(t0).toISOString(),
      },
    ];
    expect(await continueWatching(viewer)).toEqual(expected);
    await flusher.flush();
    expect(await continueWatching(viewer)).toEqual(expected);

    // Rewatching the finished one (not flushed yet) brings it back on top; finishing "last" drops it.
    await heartbeat(viewer, finished!.id, { position_seconds: 30, sent_at: t0 + 5000 });
    await heartbeat(viewer, last!.id, { position_seconds: 190, sent_at: t0 + 4000 });
    expect((await continueWatching(viewer)).map((item) => item.title)).toEqual(["Finished", "First"]);
    await flusher.flush();
    expect((await continueWatching(viewer)).map((item) => item.title)).toEqual(["Finished", "First"]);
  });

  test("each user sees and changes only their own progress", async () => {
    const [alice, bob] = await Promise.all([loggedInClient(api), loggedInClient(api)]);
    const video = await listedVideo(100);
    await heartbeat(alice, video.id, { position_seconds: 20 });
    await heartbeat(bob, video.id, { position_seconds: 40 });
    const positionOf = async (client: Client) =>
      (await continueWatching(client)).find((item) => item.id === video.id)?.position_seconds;
    expect(await positionOf(alice)).toBe(20);
    expect(await positionOf(bob)).toBe(40);
    await flusher.flush();
    expect((await rowsOf(video.id)).map((row) => row.positionSeconds).sort()).toEqual([20, 40]);
    await heartbeat(bob, video.id, { position_seconds: 50 });
    await flusher.flush();
    expect(await positionOf(alice)).toBe(20);
    expect(await positionOf(bob)).toBe(50);
    const fresh = await loggedInClient(api);
    expect(await continueWatching(fresh)).toEqual([]);
  });
});

describe("bad input", () => {
  test("401 without a session", async () => {
    const video = await listedVideo();
    const anonymous = new Client(api.url);
    expect((await heartbeat(anonymous, video.id, { position_seconds: 1 })).status).toBe(401);
    expect((await anonymous.get("/api/progress/")).status).toBe(401);
  });

  test("400 for a negative, missing, non-number or past-the-end position and a bad sent_at", async () => {
    const viewer = await loggedInClient(api);
    const video = await listedVideo(100);
    for (const body of [
      { position_seconds: -1 },
      { position_seconds: "12" },
      { position_seconds: "abc" },
      { position_seconds: null },
      {},
      { position_seconds: 106 },
      { position_seconds: 5, sent_at: "yesterday" },
      { position_seconds: 5, sent_at: -5 },
    ]) {
      const response = await heartbeat(viewer, video.id, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(error).some((field) => field === "position_seconds" || field === "sent_at")).toBe(
        true,
      );
    }
    // A few seconds past the end is tolerated (players overshoot); nothing of the above was stored.
    expect((await heartbeat(viewer, video.id, { position_seconds: 102 })).status).toBe(204);
    const pending = await new ProgressStore(api.redis).userPositions(await userIdOf(viewer));
    expect(pending.get(video.id)?.positionSeconds).toBe(102);
  });

  test("record(), what the WebSocket handler calls, validates the same way", async () => {
    const service = new WatchProgressService({
      db: api.database.db,
      redis: api.redis,
      config: api.config,
      clock: { now: () => new Date() },
    });
    const viewer = await loggedInClient(api);
    const userId = await userIdOf(viewer);
    const video = await listedVideo(100);
    const statusOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 204,
        (error: ApiError) => error.status,
      );
    expect(await statusOf(service.record(userId, video.id, "12"))).toBe(400);
    expect(await statusOf(service.record(userId, video.id, Number.NaN))).toBe(400);
    expect(await statusOf(service.record(userId, video.id, 1, "not a date"))).toBe(400);
    expect(await statusOf(service.record(userId, 2 ** 40, 1))).toBe(404);
    expect(await statusOf(service.record(userId, video.id, 42, new Date().toISOString()))).toBe(204);
    expect((await continueWatching(viewer)).map((item) => item.position_seconds)).toEqual([42]);
  });

  test("404 for an unknown video, an unpublished one or a bad id", async () => {
    const viewer = await loggedInClient(api);
    const unpublished = await listedVideo(100, false);
    expect((await heartbeat(viewer, 999_999, { position_seconds: 1 })).status).toBe(404);
    expect((await heartbeat(viewer, unpublished.id, { position_seconds: 1 })).status).toBe(404);
    const bad = await heartbeat(viewer, "abc", { position_seconds: 1 });
    expect([400, 404]).toContain(bad.status);
    await flusher.flush();
    const stored = await api.database.db
      .select()
      .from(watchProgress)
      .where(and(eq(watchProgress.videoId, unpublished.id)));
    expect(stored).toEqual([]);
  });
});
