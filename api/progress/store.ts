import { createHash } from "node:crypto";
import type Redis from "ioredis";

// Heartbeats wait in Redis until a flusher writes them to PostgreSQL. Each entry is a hash field
// `<userId>:<videoId>` → `<position>|<sentAtMs>` in one of PROGRESS_SHARDS pending hashes; a Lua script
// keeps the entry with the newer client time, so a late, older heartbeat never overwrites a newer one.
// A flusher takes a whole shard at once by RENAMEing it to a key of its own: replicas that flush at
// the same time each get disjoint entries, and heartbeats arriving meanwhile start a fresh hash.

export const PROGRESS_SHARDS = 16;
const PREFIX = "vf:progress";
const DIRTY_KEY = `${PREFIX}:dirty`;
/** Flushing keys by the time they were taken: one left behind by a crashed flusher is taken over. */
const INFLIGHT_KEY = `${PREFIX}:inflight`;
const pendingKey = (shard: number | string) => `${PREFIX}:pending:${shard}`;
/** The leading KEYS of every heartbeat batch: the dirty set, then the pending hash of each shard. */
const BATCH_KEYS: readonly string[] = [
  DIRTY_KEY,
  ...Array.from({ length: PROGRESS_SHARDS }, (_, s) => pendingKey(s)),
];
/** The user's own latest positions, so "continue watching" sees heartbeats not flushed yet. */
const userKey = (userId: number) => `${PREFIX}:user:${userId}`;

export interface ProgressEntry {
  userId: number;
  videoId: number;
  positionSeconds: number;
  sentAtMs: number;
}

// A batch of heartbeats in one call. KEYS: the dirty set, the PROGRESS_SHARDS pending hashes (shard s is
// KEYS[s + 2]), then each user hash of the batch once. ARGV[1]: the user hashes' TTL; ARGV[2]: the
// entries, one line each: `<field> <position>|<sentAt> <shard> <user hash's KEYS index> <video id>`.
// Packed into one argument because ioredis formats and writes every argument (seven per entry when they
// were separate): half the api's CPU per heartbeat in a full batch; Redis parses one string instead.
// The dirty set is touched once per batch; a user hash's TTL only when ARGV[3] (the KEYS indexes of the
// user hashes to refresh, space-separated) names it, or when the heartbeat is the hash's first of its
// video (which is also how a hash that did not exist yet gets its TTL).
// The user hash holds the newest position of each of the user's videos, flushed or not, and outlives
// the pending shard (whatever a shard holds was written to the user hash too, minutes of TTL ago at
// most): one HGET there decides. A heartbeat not newer than it changes nothing (the newer one is
// pending, in flight or stored); only where the user hash has no entry does the shard's own decide.
const HEARTBEATS_SCRIPT = `
local function sentAtOf(value)
  return tonumber(string.sub(value, string.find(value, '|', 1, true) + 1))
end
local dirty, expiring = {}, {}
for field, value, shard, user, video in string.gmatch(ARGV[2], '(%S+) (%S+) (%d+) (%d+) (%d+)') do
  local sentAt = sentAtOf(value)
  local shardKey, userKey = KEYS[tonumber(shard) + 2], KEYS[tonumber(user)]
  local latest = redis.call('HGET', userKey, video)
  if not latest then
    expiring[userKey] = true
    latest = redis.call('HGET', shardKey, field)
  end
  if not latest or sentAtOf(latest) < sentAt then
    redis.call('HSET', shardKey, field, value)
    redis.call('HSET', userKey, video, value)
    dirty[shard] = true
  end
end
for user in string.gmatch(ARGV[3], '%d+') do expiring[KEYS[tonumber(user)]] = true end
for shard in pairs(dirty) do redis.call('SADD', KEYS[1], shard) end
for userKey in pairs(expiring) do redis.call('EXPIRE', userKey, ARGV[1]) end
return 0
`;

// KEYS: pending hash, flushing key, inflight zset, dirty set. ARGV: now ms, shard.
const TAKE_SCRIPT = `
redis.call('SREM', KEYS[4], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], ARGV[1], KEYS[2])
return 1
`;

// Takes over a flushing key another flusher left behind; ZREM decides which replica gets it.
// KEYS: inflight zset, the stale key, the new flushing key. ARGV: now ms.
const RECLAIM_SCRIPT = `
if redis.call('ZREM', KEYS[1], KEYS[2]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('ZADD', KEYS[1], ARGV[1], KEYS[3])
return 1
`;

/** EVALSHA with a fallback to EVAL when Redis does not know the script yet (a restart, a new server). */
class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }
  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const heartbeatsScript = new LuaScript(HEARTBEATS_SCRIPT);
const takeScript = new LuaScript(TAKE_SCRIPT);
const reclaimScript = new LuaScript(RECLAIM_SCRIPT);

const encode = (positionSeconds: number, sentAtMs: number) => `${positionSeconds}|${sentAtMs}`;

function decode(value: string): { positionSeconds: number; sentAtMs: number } | null {
  const bar = value.indexOf("|");
  const positionSeconds = Number(value.slice(0, bar));
  const sentAtMs = Number(value.slice(bar + 1));
  return bar > 0 && Number.isFinite(positionSeconds) && Number.isFinite(sentAtMs)
    ? { positionSeconds, sentAtMs }
    : null;
}

/** A batch taken out of Redis: written to PostgreSQL, then `done()`; never done → taken over later. */
export interface TakenBatch {
  entries: ProgressEntry[];
  keys: string[];
}

interface HeartbeatBatch {
  entries: ProgressEntry[];
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Heartbeats per script call: bounds the time one call holds Redis. */
const MAX_BATCH = 500;
/**
 * How often this replica refreshes the TTL of a user hash it keeps writing: an EXPIRE per heartbeat
 * was a quarter of the script's Redis calls. The hash lives at least its TTL less this after the
 * user's last heartbeat.
 */
const TTL_REFRESH_MS = 60_000;
/** Users whose refresh time is remembered; past it the memory starts afresh (one refresh each, again). */
const MAX_REMEMBERED_REFRESHES = 100_000;

export class ProgressStore {
  private batch: HeartbeatBatch | null = null;
  /** Script calls sent and not answered yet. */
  private inFlight = 0;
  /** When this replica last sent a TTL refresh of each user hash, ms. */
  private readonly refreshedAt = new Map<number, number>();

  constructor(
    private readonly redis: Redis,
    /** How long a user's unflushed positions stay visible to them after their last heartbeat. */
    private readonly userTtlSeconds = 600,
    /** Called with a batch's size once Redis has it (metrics). */
    private readonly onStored?: (heartbeats: number) => void,
  ) {}

  /**
   * Records a heartbeat; resolves once Redis has it. Heartbeats that arrive in the same turn of the
   * event loop go to Redis in one script call (at most MAX_BATCH), and while a call is on its way the
   * next batch fills until it is answered: under load a request costs a fraction of a round trip and
   * the batches grow with the load (fewer calls for the api and Redis to make), alone it waits for
   * nothing.
   */
  put(entry: ProgressEntry): Promise<void> {
    let batch = this.batch;
    if (!batch) {
      batch = { entries: [], ...Promise.withResolvers<void>() };
      this.batch = batch;
      const scheduled = batch;
      if (this.inFlight === 0) setImmediate(() => this.send(scheduled));
    }
    batch.entries.push(entry);
    if (batch.entries.length >= MAX_BATCH) this.send(batch);
    return batch.promise;
  }

  private send(batch: HeartbeatBatch): void {
    if (this.batch !== batch) return; // already sent
    this.batch = null;
    const keys = [...BATCH_KEYS];
    // A user's hash is declared once however many of their heartbeats the batch holds.
    const userKeyIndex = new Map<number, number>();
    const lines: string[] = [];
    const refreshes: number[] = [];
    const nowMs = Date.now();
    if (this.refreshedAt.size > MAX_REMEMBERED_REFRESHES) this.refreshedAt.clear();
    for (const entry of batch.entries) {
      let user = userKeyIndex.get(entry.userId);
      if (user === undefined) {
        user = keys.push(userKey(entry.userId)); // Lua's KEYS are 1-based: the new length is its index
        userKeyIndex.set(entry.userId, user);
        if (nowMs - (this.refreshedAt.get(entry.userId) ?? Number.NEGATIVE_INFINITY) >= TTL_REFRESH_MS) {
          this.refreshedAt.set(entry.userId, nowMs);
          refreshes.push(user);
        }
      }
      const value = encode(entry.positionSeconds, entry.sentAtMs);
      lines.push(
        `${entry.userId}:${entry.videoId} ${value} ${entry.userId % PROGRESS_SHARDS} ${user} ${entry.videoId}`,
      );
    }
    this.inFlight++;
    heartbeatsScript.run(this.redis, keys, [this.userTtlSeconds, lines.join("\n"), refreshes.join(" ")]).then(
      () => {
        this.answered();
        this.onStored?.(batch.entries.length);
        batch.resolve();
      },
      (error: unknown) => {
        this.answered();
        batch.reject(error);
      },
    );
  }

  /** A call came back: the batch that filled meanwhile goes now (it waited a round trip already). */
  private answered(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.batch) this.send(this.batch);
  }

  /** The user's latest position in one video still in Redis (flushed or not), if any. */
  async userPosition(
    userId: number,
    videoId: number,
  ): Promise<{ positionSeconds: number; sentAtMs: number } | null> {
    const value = await this.redis.hget(userKey(userId), String(videoId));
    return value === null ? null : decode(value);
  }

  /** The user's latest positions still in Redis (flushed or not), by video. */
  async userPositions(userId: number): Promise<Map<number, { positionSeconds: number; sentAtMs: number }>> {
    const raw = await this.redis.hgetall(userKey(userId));
    const positions = new Map<number, { positionSeconds: number; sentAtMs: number }>();
    for (const [field, value] of Object.entries(raw)) {
      const decoded = decode(value);
      if (decoded) positions.set(Number(field), decoded);
    }
    return positions;
  }

  /**
   * Takes every pending shard, plus flushing keys abandoned for longer than `staleMs` (a replica that
   * died mid-flush), under keys of this flusher's own. Entries are deduplicated, newest by client time.
   */
  async take(flusherId: string, staleMs: number, nowMs = Date.now()): Promise<TakenBatch> {
    const keys: string[] = [];
    let sequence = 0;
    const nextKey = (shard: string) => `${PREFIX}:flushing:${shard}:${flusherId}:${nowMs}:${sequence++}`;
    const dirty = await this.redis.smembers(DIRTY_KEY);
    for (const shard of dirty) {
      const key = nextKey(shard);
      const taken = await takeScript.run(
        this.redis,
        [pendingKey(shard), key, INFLIGHT_KEY, DIRTY_KEY],
        [nowMs, shard],
      );
      if (taken === 1) keys.push(key);
    }
    const abandoned = await this.redis.zrangebyscore(INFLIGHT_KEY, 0, nowMs - staleMs, "LIMIT", 0, 64);
    for (const stale of abandoned) {
      const key = nextKey("reclaimed");
      if ((await reclaimScript.run(this.redis, [INFLIGHT_KEY, stale, key], [nowMs])) === 1) keys.push(key);
    }
    const newest = new Map<string, ProgressEntry>();
    for (const key of keys) {
      const fields = await this.redis.hgetall(key);
      for (const [field, value] of Object.entries(fields)) {
        const decoded = decode(value);
        const colon = field.indexOf(":");
        const userId = Number(field.slice(0, colon));
        const videoId = Number(field.slice(colon + 1));
        if (!decoded || !Number.isInteger(userId) || !Number.isInteger(videoId)) continue;
        const known = newest.get(field);
        if (!known || known.sentAtMs < decoded.sentAtMs) newest.set(field, { userId, videoId, ...decoded });
      }
    }
    return { entries: [...newest.values()], keys };
  }

  /** Forgets a batch once PostgreSQL has it. */
  async done(batch: TakenBatch): Promise<void> {
    if (batch.keys.length === 0) return;
    await this.redis
      .multi()
      .del(...batch.keys)
      .zrem(INFLIGHT_KEY, ...batch.keys)
      .exec();
  }
}
