// Liveness of the farm: every transcoder writes a heartbeat into one Redis hash (field: its
// TRANSCODER_NAME) every few seconds and whenever a job starts or ends, and removes it when it stops.
// The api lists the transcoders whose heartbeat is recent (GET /api/admin/farm); a worker killed
// without a word turns quiet once its last heartbeat is older than HEARTBEAT_STALE_MS (listed apart,
// until forgotten).
//
// Every age is measured on Redis's own clock (TIME), never a transcoder's or the api's: hosts' clocks
// drift apart, and a skewed one would be listed forever or never. A beat goes through
// HEARTBEAT_WRITE_SCRIPT, which stores the heartbeat and stamps the name with Redis's time in the
// sorted set TRANSCODERS_SEEN_KEY; the api reads with HEARTBEAT_READ_SCRIPT, which compares those stamps
// with Redis's time too. Both forget names silent for HEARTBEAT_FORGET_MS (hash field and stamp), so the
// hash stays bounded without anyone opening the farm view, even though `${HOSTNAME}-${pid}` names add one
// per restart (Redis 7.0 has no per-field expiry, HEXPIRE).
import { createHash } from "node:crypto";
import { type Static, Type } from "@sinclair/typebox";
import type Redis from "ioredis";
import { messageCodec } from "./codec.ts";

export const TranscoderHeartbeat = Type.Object({
  name: Type.String({ minLength: 1 }),
  host: Type.String(),
  pid: Type.Integer({ minimum: 0 }),
  /** The acceleration that passed the start-up self-test: `none` (CPU), `nvenc`, `cuda-decode`. */
  hwaccel: Type.String(),
  /** The video encoder FFmpeg runs (`libx264`, `h264_nvenc`). */
  encoder: Type.String(),
  /** Jobs it runs at once (TRANSCODER_CONCURRENCY). */
  concurrency: Type.Integer({ minimum: 1 }),
  /** ISO 8601: when the process started taking jobs. */
  startedAt: Type.String(),
  /** Epoch ms of this heartbeat, by the transcoder's clock: with startedAt, its uptime; never its age. */
  sentAt: Type.Number(),
  /** The attempts it runs now. */
  jobs: Type.Array(
    Type.Object({
      jobId: Type.String(),
      videoId: Type.Integer({ minimum: 1 }),
      revision: Type.Integer({ minimum: 1 }),
      attempt: Type.Integer({ minimum: 1 }),
      /** ISO 8601: when this attempt was claimed. */
      startedAt: Type.String(),
    }),
  ),
});
export type TranscoderHeartbeat = Static<typeof TranscoderHeartbeat>;

export const transcoderHeartbeats = messageCodec(TranscoderHeartbeat);

/** The hash of every transcoder's latest heartbeat, by name. */
export const TRANSCODERS_KEY = "vf:transcoders";
/** Sorted set: each name in TRANSCODERS_KEY, scored with Redis's time (epoch ms) of its latest beat. */
export const TRANSCODERS_SEEN_KEY = "vf:transcoders:seen";
export const HEARTBEAT_INTERVAL_MS = 5000;
/** Three missed heartbeats: the transcoder is gone (crashed, cut off, or its host is). */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_INTERVAL_MS;
/** A transcoder silent this long is not coming back: its hash field and stamp are removed. */
export const HEARTBEAT_FORGET_MS = 60 * 60 * 1000;
/** Names forgotten at most per script call: bounds the time one call holds Redis. */
const FORGET_BATCH = 100;

// Redis's clock in epoch ms, and the forgetting both scripts do. KEYS[1] the hash, KEYS[2] the stamps.
const PRELUDE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - ${HEARTBEAT_FORGET_MS}), 'LIMIT', 0, ${FORGET_BATCH})
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
`;

/** ARGV: name, heartbeat JSON. Stores it, stamps the name with Redis's time; answers that time. */
export const HEARTBEAT_WRITE_SCRIPT = `${PRELUDE}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now
`;

/**
 * ARGV: how old a stamp may be (ms) to count as online. Answers `[now, [name, stamp, heartbeat JSON]…]`
 * by Redis's time. A hash field without a stamp (written by an older transcoder) is removed.
 */
export const HEARTBEAT_READ_SCRIPT = `${PRELUDE}
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not redis.call('ZSCORE', KEYS[2], name) then redis.call('HDEL', KEYS[1], name) end
end
local online = {}
local seen = redis.call('ZRANGEBYSCORE', KEYS[2], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
for i = 1, #seen, 2 do
  local text = redis.call('HGET', KEYS[1], seen[i])
  if text then table.insert(online, { seen[i], seen[i + 1], text }) end
end
return { now, online }
`;

/** EVALSHA with a fallback to EVAL when Redis does not know the script yet (a restart, a new server). */
export async function runHeartbeatScript(
  redis: Redis,
  source: string,
  args: Array<string | number>,
): Promise<unknown> {
  const sha = createHash("sha1").update(source).digest("hex");
  const keys = [TRANSCODERS_KEY, TRANSCODERS_SEEN_KEY];
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
    return redis.eval(source, keys.length, ...keys, ...args);
  }
}

/**
 * The heartbeats stamped within `withinMs` by Redis's clock (HEARTBEAT_READ_SCRIPT), decoded, each with
 * its stamp, and Redis's time of the read. A field that does not decode is left out.
 */
export async function readHeartbeats(
  redis: Redis,
  withinMs: number,
): Promise<{ nowMs: number; heard: Array<{ seenMs: number; heartbeat: TranscoderHeartbeat }> }> {
  const [nowMs, rows] = (await runHeartbeatScript(redis, HEARTBEAT_READ_SCRIPT, [withinMs])) as [
    number,
    Array<[string, string, string]>,
  ];
  const heard: Array<{ seenMs: number; heartbeat: TranscoderHeartbeat }> = [];
  for (const [, stamp, text] of rows) {
    const decoded = transcoderHeartbeats.decode(text);
    if (decoded.ok) heard.push({ seenMs: Number(stamp), heartbeat: decoded.value });
  }
  return { nowMs: Number(nowMs), heard };
}
