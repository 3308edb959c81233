// RevocationEpochs on real PostgreSQL and Redis, with the replicas' subscriber connections in the
// test's hands: while a replica cannot hear the event bus, its cache is not believed and a revocation
// made elsewhere still holds, from Redis's copy and, without it, from the database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import pino from "pino";
import { ConnectionErrorLog } from "../../connections/error-log.ts";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { type User, users } from "../../db/schema/index.ts";
import { createTestDatabase, testRedisUrl } from "../../dev/services.ts";
import { systemClock } from "../shared/clock.ts";
import { EventBus } from "../shared/event-bus.ts";
import { RefreshSessions } from "./refresh-sessions.ts";
import { RevocationEpochs } from "./revocation-epochs.ts";
import { AccessTokens, REVOCATION_RECHECK_MS } from "./session.ts";
import { SessionService } from "./sessions.ts";

const SECRET = "revocation-test-secret-that-is-long-enough-0123456789";
const TTL = 1800;
const log = pino({ level: "silent" });
const client = { userAgent: "unit-test", ip: "127.0.0.1" };

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let database: DatabaseHandle;
let redisUrl: string;
const connections: Redis[] = [];
const stoppable: RevocationEpochs[] = [];

beforeAll(async () => {
  [testDb, redisUrl] = await Promise.all([createTestDatabase(), testRedisUrl()]);
  database = await openDatabase({ url: testDb.url, pgliteDir: "" });
  await database.migrate();
});

afterAll(async () => {
  await Promise.all(stoppable.map((revocations) => revocations.stop()));
  for (const connection of connections) connection.disconnect();
  await database?.close();
  await testDb?.drop();
});

/** One api replica's share of it: its own connections, bus, epochs, token cache and sessions. */
async function replica(
  options: {
    redisDown?: boolean;
    /** Only the fast publishing connection is cut off (a timeout during one announcement). */
    fastPublisherDown?: boolean;
    now?: () => number;
    log?: pino.Logger;
  } = {},
) {
  // A Redis that is down: every command is refused at once (no queue, no reconnect).
  const unreachable = () =>
    new Redis("redis://127.0.0.1:9", {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    }).on("error", () => {}); // the refusals are the point
  const replicaLog = options.log ?? log;
  const now = options.now ?? Date.now;
  const redis = options.redisDown ? unreachable() : new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const patientRedis = options.redisDown ? unreachable() : new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscriber = options.redisDown ? unreachable() : new Redis(redisUrl, { maxRetriesPerRequest: null });
  const publisher = options.fastPublisherDown ? unreachable() : redis;
  connections.push(redis, patientRedis, subscriber, publisher);
  const connectionErrors = new ConnectionErrorLog(replicaLog);
  const bus = new EventBus({
    subscriber,
    publisher,
    patientPublisher: patientRedis,
    connectionErrors,
    log: replicaLog,
  });
  const revocations = new RevocationEpochs({
    db: database.db,
    redis,
    patientRedis,
    bus,
    connectionErrors,
    accessTokenTtlSeconds: TTL,
    now,
    log: replicaLog,
  });
  revocations.listen();
  stoppable.push(revocations);
  const tokens = new AccessTokens(SECRET, TTL, now, revocations);
  const sessions = new RefreshSessions({
    db: database.db,
    accessTokens: tokens,
    clock: systemClock,
    config: { refreshTokenTtlSeconds: 3600, refreshGraceSeconds: 10 },
    successorSecret: SECRET,
    revocations,
    log,
  });
  if (!options.redisDown) await bus.ready();
  return { redis, subscriber, revocations, tokens, sessions };
}

/** Closes a replica's subscriber for good: it hears nothing from then on. */
async function deafen(subscriber: Redis): Promise<void> {
  const ended = new Promise((resolve) => subscriber.once("end", resolve));
  subscriber.disconnect();
  await ended;
}

async function newUser(): Promise<User> {
  const [user] = await database.db
    .insert(users)
    .values({ email: `epochs-${crypto.randomUUID()}@example.com`, passwordHash: "x", isActive: true })
    .returning();
  return user!;
}

describe("a replica that cannot hear the event bus", () => {
  test("does not believe its cache, and a revocation made meanwhile holds from Redis, then from the database", async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const issued = await a.sessions.issue(await newUser(), client);
    expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);
    expect(b.tokens.cached(issued.accessToken)).toEqual(issued.user);

    await deafen(b.subscriber);
    expect(b.revocations.trusted).toBe(false);
    // The token is still good, but only a fresh check may say so.
    expect(b.tokens.cached(issued.accessToken)).toBeUndefined();
    expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);

    expect(await a.sessions.revokeSession(issued.user.id, issued.user.sessionId)).toBe(true);
    expect(b.revocations.revokedNow(issued.user)).toBe(false); // it did not hear it…
    expect(await b.tokens.verify(issued.accessToken)).toBeNull(); // …Redis's copy says so

    // Without the copy (a restarted Redis) the database's session rows say so.
    await b.redis.del(`vf:auth:epoch:session:${issued.user.sessionId}`);
    expect(await b.tokens.verify(issued.accessToken)).toBeNull();
  });

  test("a user's raised epoch holds from the database without Redis's copy", async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const user = await newUser();
    const issued = await a.sessions.issue(user, client);
    await deafen(b.subscriber);
    const announce = await database.db.transaction((tx) => a.sessions.revokeAllOf(tx, user.id));
    await announce();
    await b.redis.del(`vf:auth:epoch:user:${user.id}`);
    expect(await b.tokens.verify(issued.accessToken)).toBeNull();
    // A session signed under the new epoch is valid.
    const [current] = await database.db.select().from(users).where(eq(users.id, user.id));
    const fresh = await a.sessions.issue(current!, client);
    expect(fresh.user.userEpoch).toBe(user.sessionEpoch + 1);
    expect(await b.tokens.verify(fresh.accessToken)).toEqual(fresh.user);
  });

  test("when the subscription drops and comes back, the cache starts afresh", async () => {
    const b = await replica();
    const issued = await (await replica()).sessions.issue(await newUser(), client);
    await b.tokens.verify(issued.accessToken);
    expect(b.tokens.cached(issued.accessToken)).toEqual(issued.user);
    const back = new Promise((resolve) => b.subscriber.once("ready", resolve));
    b.subscriber.disconnect(true); // reconnects
    await back;
    expect(b.revocations.trusted).toBe(true);
    // Trusted again, yet the token has to be checked afresh: what was missed in between is unknown.
    expect(b.tokens.cached(issued.accessToken)).toBeUndefined();
    expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);
    expect(b.tokens.cached(issued.accessToken)).toEqual(issued.user);
  });

  test("with Redis unreachable, the database decides", async () => {
    const [a, b] = await Promise.all([replica(), replica({ redisDown: true })]);
    const user = await newUser();
    const [revoked, live] = [await a.sessions.issue(user, client), await a.sessions.issue(user, client)];
    expect(await a.sessions.revokeSession(user.id, revoked.user.sessionId)).toBe(true);
    expect(await b.tokens.verify(revoked.accessToken)).toBeNull();
    expect(await b.tokens.verify(live.accessToken)).toEqual(live.user);
  });
});

describe("a login racing a password reset", () => {
  test("whose family was stored after the reset's UPDATE cannot be refreshed into the new epoch", async () => {
    const a = await replica();
    // The login read the user (and its epoch) before the reset committed…
    const readBeforeReset = await newUser();
    const announce = await database.db.transaction((tx) => a.sessions.revokeAllOf(tx, readBeforeReset.id));
    await announce();
    // …and stored its refresh family after it: the reset's UPDATE did not see it.
    const raced = await a.sessions.issue(readBeforeReset, client);
    expect(await a.tokens.verify(raced.accessToken)).toBeNull(); // the access token's epoch is old
    await expect(a.sessions.rotate(raced.refreshToken, client)).rejects.toMatchObject({ status: 401 });
    // The family is revoked for good, and a login after the reset refreshes as usual.
    const listed = new SessionService({ db: database.db, sessions: a.sessions, clock: systemClock });
    expect(await listed.list(readBeforeReset.id)).toEqual([]);
    const [current] = await database.db.select().from(users).where(eq(users.id, readBeforeReset.id));
    const fresh = await a.sessions.issue(current!, client);
    const rotated = await a.sessions.rotate(fresh.refreshToken, client);
    expect(rotated.user.userEpoch).toBe(readBeforeReset.sessionEpoch + 1);
    expect(await a.tokens.verify(rotated.accessToken)).toEqual(rotated.user);
  });
});

describe("an announcement that did not go out", () => {
  test("is retried on the patient connection until the replicas that stayed subscribed hear it", async () => {
    const [a, b] = await Promise.all([replica({ fastPublisherDown: true }), replica()]);
    const issued = await a.sessions.issue(await newUser(), client);
    expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);

    expect(await a.sessions.revokeSession(issued.user.id, issued.user.sessionId)).toBe(true);
    // The request's own publish failed; the retry reaches b, whose cache then refuses the token.
    for (let waited = 0; !b.revocations.revokedNow(issued.user) && waited < 10_000; waited += 50)
      await Bun.sleep(50);
    expect(b.revocations.revokedNow(issued.user)).toBe(true);
    expect(b.tokens.cached(issued.accessToken)).toBeUndefined();
    expect(await b.tokens.verify(issued.accessToken)).toBeNull();
  });

  test("never heard: a replica's cached verdict is checked again after REVOCATION_RECHECK_MS", async () => {
    let skewMs = 0;
    const [a, b] = await Promise.all([
      replica({ redisDown: true }), // the announcing replica lost Redis: no copy, no message, no retry
      replica({ now: () => Date.now() + skewMs }),
    ]);
    const issued = await a.sessions.issue(await newUser(), client);
    expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);
    expect(await a.sessions.revokeSession(issued.user.id, issued.user.sessionId)).toBe(true);
    // The copies b filled at its first sighting expire within EPOCH_COPY_TTL_SECONDS.
    await b.redis.del(
      `vf:auth:epoch:user:${issued.user.id}`,
      `vf:auth:epoch:session:${issued.user.sessionId}`,
    );

    expect(b.tokens.cached(issued.accessToken)).toEqual(issued.user); // memory only: not heard
    skewMs = REVOCATION_RECHECK_MS;
    expect(b.tokens.cached(issued.accessToken)).toBeUndefined();
    expect(await b.tokens.verify(issued.accessToken)).toBeNull(); // the database says so
  });
});

describe("while Redis is unreachable", () => {
  test("first sightings log one connection error per interval, not a line per request", async () => {
    const lines: string[] = [];
    const capture = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const [a, b] = await Promise.all([replica(), replica({ redisDown: true, log: capture })]);
    const user = await newUser();
    for (let request = 0; request < 10; request++) {
      const issued = await a.sessions.issue(user, client);
      expect(await b.tokens.verify(issued.accessToken)).toEqual(issued.user);
    }
    const logged = lines
      .map((line) => JSON.parse(line) as { msg: string; err?: unknown })
      .filter((line) => line.msg.includes("revocation epochs"));
    // Each distinct failure once (the first command meets a connecting client, the rest a closed one).
    expect(logged.length).toBeGreaterThan(0);
    expect(new Set(logged.map((line) => String(line.err))).size).toBe(logged.length);
    expect(logged.every((line) => line.msg === "redis revocation epochs: connection error")).toBe(true);
  });
});
