// The tus Locker on Redis, so that two PATCHes of one upload are serialised across api replicas (the
// library's MemoryLocker only sees its own process). A lock is a key held with a token and renewed while
// held; a request that wants it raises a flag the holder reads on its next renewal, and the holder then
// lets go (the library's cancelReq: the newest request of a client that reconnected wins).
import { randomUUID } from "node:crypto";
import { ERRORS, type Lock, type Locker, type RequestRelease } from "@tus/server";
import type Redis from "ioredis";

/** A holder that died (a killed api) frees the lock after this long. */
const LOCK_TTL_MS = 10_000;
/** How often a holder renews its lock and looks for a request waiting for it. */
const RENEW_MS = 250;
const POLL_MS = 50;
/** How long a request waits for a lock by default (the library's MemoryLocker waits as long). */
const ACQUIRE_TIMEOUT_MS = 30_000;

// Takes the lock when it is free and clears a stale "wanted" flag (one meant for the previous holder).
const ACQUIRE = `
if redis.call("set", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  redis.call("del", KEYS[2])
  return 1
end
return 0`;
// Renews the lock if it is still ours; answers whether a request asked for it meanwhile (clearing that).
const RENEW = `
if redis.call("get", KEYS[1]) ~= ARGV[1] then return -1 end
redis.call("pexpire", KEYS[1], ARGV[2])
return redis.call("del", KEYS[2])`;
const RELEASE = `
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0`;

export class RedisLocker implements Locker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "tus:lock:",
  ) {}

  newLock(id: string, acquireTimeoutMs = ACQUIRE_TIMEOUT_MS): Lock {
    return new RedisLock(this.redis, `${this.prefix}${id}`, acquireTimeoutMs);
  }
}

class RedisLock implements Lock {
  private readonly token = randomUUID();
  private readonly wantedKey: string;
  private renewal: Timer | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly acquireTimeoutMs: number,
  ) {
    this.wantedKey = `${key}:wanted`;
  }

  async lock(signal: AbortSignal, cancelReq: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.acquireTimeoutMs;
    for (;;) {
      if (signal.aborted) throw ERRORS.ABORTED;
      const taken = await this.redis.eval(ACQUIRE, 2, this.key, this.wantedKey, this.token, LOCK_TTL_MS);
      if (taken === 1) break;
      await this.redis.set(this.wantedKey, "1", "PX", LOCK_TTL_MS);
      if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await Bun.sleep(POLL_MS);
    }
    let cancelled = false;
    this.renewal = setInterval(() => {
      this.redis
        .eval(RENEW, 2, this.key, this.wantedKey, this.token, LOCK_TTL_MS)
        .then((answer) => {
          // Asked for (1), or lost to an expiry (-1): either way this request should stop.
          if (answer !== 0 && !cancelled) {
            cancelled = true;
            void cancelReq();
          }
        })
        .catch(() => {}); // Redis away: the next tick tries again; the TTL bounds a lost holder
    }, RENEW_MS);
  }

  async unlock(): Promise<void> {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
