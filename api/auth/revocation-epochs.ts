// Revocation of access tokens before they expire. Every token carries its session (`sid`) and the
// user's epoch it was signed under (`uep`); a token is revoked once its session is, or once the user's
// epoch has moved past its own. PostgreSQL holds the truth (users.session_epoch, the session's refresh
// rows), Redis a short-lived copy for first sightings of a token, and every replica the revocations it
// heard on the event bus, which is what the access-token cache checks on every request.
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { ConnectionErrorLog } from "../../connections/error-log.ts";
import { type SessionEvent, sessionEvents } from "../../contract/sessions.ts";
import type { Database } from "../../db/client.ts";
import { refreshTokens, users } from "../../db/schema/index.ts";
import type { EventBus } from "../shared/event-bus.ts";
import type { RevocationCheck, SessionUser } from "./session.ts";

/**
 * How long Redis keeps a copy of an epoch. Redis is only a cache of PostgreSQL: a copy that a failed
 * write (Redis unreachable during a revocation) left stale is corrected from the database after this.
 */
export const EPOCH_COPY_TTL_SECONDS = 60;

const userKey = (userId: number) => `vf:auth:epoch:user:${userId}`;
const sessionKey = (sessionId: string) => `vf:auth:epoch:session:${sessionId}`;

// Epochs only grow: a copy filled from an older database read never overwrites a newer revocation.
const RAISE_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local proposed = tonumber(ARGV[1])
if proposed > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return proposed
end
return current
`;

/** A session's epoch: 0 while it lives, 1 once revoked (a session never comes back). */
const SESSION_REVOKED = 1;

/** The first retry of an announcement that did not go through, doubled each time up to the cap. */
const REDELIVERY_FIRST_DELAY_MS = 250;
const REDELIVERY_MAX_DELAY_MS = 5000;

const REDIS_SOURCE = "redis revocation epochs";

export class RevocationEpochs implements RevocationCheck {
  /** Users whose epoch this replica heard being raised, and when: entries older than a token are dropped. */
  private readonly raisedUsers = new Map<number, { epoch: number; heardAtMs: number }>();
  private readonly revokedSessions = new Map<string, number>();
  private readonly missedListeners = new Set<() => void>();
  private readonly revokedListeners = new Set<() => void>();
  /** Announcements still being retried; aborted by `stop`. */
  private readonly redeliveries = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: {
      db: Database;
      /** The request connection: fails fast, so a request never waits on a Redis that is away. */
      redis: Redis;
      /** The background connection (waits out a blip), for the retries of an announcement; default: redis. */
      patientRedis?: Redis;
      bus: EventBus;
      /** Redis failures on the request path, one line per interval instead of one per request. */
      connectionErrors: ConnectionErrorLog;
      /** Access-token lifetime: what was heard longer ago than this can no longer matter. */
      accessTokenTtlSeconds: number;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** Hears the revocations of every replica; a gap in the subscription makes the cache forget. */
  listen(): void {
    this.deps.bus.on(sessionEvents, (event) => this.remember(event));
    this.deps.bus.onReconnect(() => {
      for (const listener of this.missedListeners) listener();
    });
  }

  onMissed(listener: () => void): void {
    this.missedListeners.add(listener);
  }

  onRevoked(listener: () => void): void {
    this.revokedListeners.add(listener);
  }

  get trusted(): boolean {
    return this.deps.bus.live(sessionEvents);
  }

  /** What this replica heard: the hot path's check, a Map lookup or two. */
  revokedNow(user: SessionUser): boolean {
    const raised = this.raisedUsers.get(user.id);
    if (raised !== undefined && raised.epoch > user.userEpoch) return true;
    return this.revokedSessions.has(user.sessionId);
  }

  /** A token seen for the first time: what was heard, else the Redis copies, else the database. */
  async isRevoked(user: SessionUser): Promise<boolean> {
    if (this.revokedNow(user)) return true;
    const [userEpoch, sessionEpoch] = await this.currentEpochs(user);
    return userEpoch > user.userEpoch || sessionEpoch >= SESSION_REVOKED;
  }

  /**
   * Raises the user's epoch in the caller's transaction: every access token signed before is revoked
   * once the transaction commits and `announce` has run. Returns the new epoch (null: no such user).
   */
  async raiseUserEpoch(tx: Pick<Database, "update">, userId: number): Promise<number | null> {
    const [row] = await tx
      .update(users)
      .set({ sessionEpoch: sql`${users.sessionEpoch} + 1` })
      .where(eq(users.id, userId))
      .returning({ epoch: users.sessionEpoch });
    return row?.epoch ?? null;
  }

  /**
   * Makes a revocation that PostgreSQL already holds take effect everywhere: here at once, in Redis,
   * and on every other replica through the event bus (which also closes the WebSockets it covers).
   */
  async announce(event: SessionEvent): Promise<void> {
    this.remember(event);
    if (await this.deliver(event, false)) return;
    // Another replica whose subscriber stayed up would never hear of it, and a password-reset link is
    // used up (no client retry announces again): keep trying in the background until it goes through
    // or no token it revokes can still be valid.
    const redelivery = this.redeliver(event, this.deps.now() + this.rememberedForMs());
    this.redeliveries.add(redelivery);
    void redelivery.finally(() => this.redeliveries.delete(redelivery));
  }

  /** Stops the retries of announcements that have not gone through (the replica shuts down). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.redeliveries]);
  }

  /** Redis's copy, then the bus message; true once the message went through (the copy is best effort). */
  private async deliver(event: SessionEvent, patient: boolean): Promise<boolean> {
    const [key, epoch] =
      event.type === "session.revoked"
        ? [sessionKey(event.session_id), SESSION_REVOKED]
        : [userKey(event.user_id), event.epoch];
    await this.raiseCopy(key, epoch, patient ? (this.deps.patientRedis ?? this.deps.redis) : this.deps.redis);
    return this.deps.bus.publish(sessionEvents, event, { patient });
  }

  private async redeliver(event: SessionEvent, giveUpAtMs: number): Promise<void> {
    const { signal } = this.stopping;
    let delayMs = REDELIVERY_FIRST_DELAY_MS;
    for (let retries = 1; this.deps.now() < giveUpAtMs; retries++) {
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        break; // stopped
      }
      if (await this.deliver(event, true)) {
        this.deps.log.info({ event, retries }, "revocation epochs: announced after retrying");
        return;
      }
      delayMs = Math.min(delayMs * 2, REDELIVERY_MAX_DELAY_MS);
    }
    // The database holds it: replicas that missed it refuse its tokens at their next check of Redis
    // or PostgreSQL (AccessTokens re-checks a cached token after REVOCATION_RECHECK_MS).
    this.deps.log.error({ event }, "revocation epochs: gave up announcing a revocation");
  }

  /** What was heard is kept this long: past it no token signed before the revocation is valid. */
  private rememberedForMs(): number {
    return (this.deps.accessTokenTtlSeconds + 60) * 1000;
  }

  private remember(event: SessionEvent): void {
    const heardAtMs = this.deps.now();
    this.forgetOlderThan(heardAtMs - this.rememberedForMs());
    if (event.type === "session.revoked") {
      this.revokedSessions.delete(event.session_id);
      this.revokedSessions.set(event.session_id, heardAtMs);
    } else {
      const known = this.raisedUsers.get(event.user_id);
      const epoch = Math.max(known?.epoch ?? 0, event.epoch);
      // Deleted first, so that insertion order stays the order heard (what forgetOlderThan relies on).
      this.raisedUsers.delete(event.user_id);
      this.raisedUsers.set(event.user_id, { epoch, heardAtMs });
    }
    for (const listener of this.revokedListeners) listener();
  }

  /** A token signed before a revocation expires at most a token lifetime after it was heard. */
  private forgetOlderThan(cutoffMs: number): void {
    for (const [userId, raised] of this.raisedUsers) {
      if (raised.heardAtMs >= cutoffMs) break;
      this.raisedUsers.delete(userId);
    }
    for (const [sessionId, heardAtMs] of this.revokedSessions) {
      if (heardAtMs >= cutoffMs) break;
      this.revokedSessions.delete(sessionId);
    }
  }

  /** The user's and the session's current epochs: Redis's copies, the database for what is missing. */
  private async currentEpochs(user: SessionUser): Promise<[number, number]> {
    let copies: (string | null)[] | null = null;
    try {
      copies = await this.deps.redis.mget(userKey(user.id), sessionKey(user.sessionId));
      this.deps.connectionErrors.recovered(REDIS_SOURCE);
    } catch (error) {
      // Every first sighting fails the same way while Redis is away: one line per interval.
      this.deps.connectionErrors.report(REDIS_SOURCE, error);
    }
    const [userCopy = null, sessionCopy = null] = copies ?? [];
    const userEpoch = userCopy !== null ? Number(userCopy) : await this.userEpochFromDatabase(user.id);
    const sessionEpoch =
      sessionCopy !== null ? Number(sessionCopy) : await this.sessionEpochFromDatabase(user);
    // Copies are filled only when Redis answered: during an outage each request would wait for it twice more.
    if (copies && userCopy === null) await this.raiseCopy(userKey(user.id), userEpoch);
    if (copies && sessionCopy === null) await this.raiseCopy(sessionKey(user.sessionId), sessionEpoch);
    return [userEpoch, sessionEpoch];
  }

  /**
   * Every revocation raises the epoch or marks rows revoked, never deletes: an unknown user or session
   * (a token signed by a benchmark holding the secret) has nothing revoked.
   */
  private async userEpochFromDatabase(userId: number): Promise<number> {
    const [row] = await this.deps.db
      .select({ epoch: users.sessionEpoch })
      .from(users)
      .where(eq(users.id, userId));
    return row?.epoch ?? 0;
  }

  /** A session is revoked once any of its refresh rows is. */
  private async sessionEpochFromDatabase(user: SessionUser): Promise<number> {
    const family = and(eq(refreshTokens.familyId, user.sessionId), eq(refreshTokens.userId, user.id));
    const [row] = await this.deps.db
      .select({
        revoked: sql<number>`count(*) filter (where ${isNotNull(refreshTokens.revokedAt)})::int`,
      })
      .from(refreshTokens)
      .where(family);
    return row && row.revoked > 0 ? SESSION_REVOKED : 0;
  }

  /** Sets Redis's copy unless it is already higher; a failure is logged (the database decides then). */
  private async raiseCopy(key: string, epoch: number, redis = this.deps.redis): Promise<void> {
    try {
      await redis.eval(RAISE_SCRIPT, 1, key, epoch, EPOCH_COPY_TTL_SECONDS);
    } catch (error) {
      this.deps.connectionErrors.report(REDIS_SOURCE, error);
    }
  }
}
