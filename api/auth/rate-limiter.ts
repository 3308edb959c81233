import { createHash } from "node:crypto";
import type Redis from "ioredis";
import type { RateLimitAction, RateLimits } from "../config/load.ts";
import { RateLimitedError } from "../http/errors.ts";

// Fixed window counter: the first hit of a window starts its expiry, so a key never outlives its window.
const HIT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}
`;

export type RateLimitScope = "ip" | "account";

/** Counts attempts per client address and per account in Redis, shared by every api replica. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: RateLimits,
    private readonly keyPrefix = "vf:rl",
  ) {}

  /** Records one attempt; throws RateLimitedError (429 with Retry-After) once the window is full. */
  async hit(action: RateLimitAction, scope: RateLimitScope, subject: string): Promise<void> {
    const rule = this.limits[action][scope];
    // Subjects are hashed so that no email address sits in Redis in clear text.
    const digest = createHash("sha256").update(subject.toLowerCase()).digest("base64url").slice(0, 22);
    const key = `${this.keyPrefix}:${action}:${scope}:${digest}`;
    const [count, ttlMs] = (await this.redis.eval(HIT_SCRIPT, 1, key, rule.windowSeconds * 1000)) as [
      number,
      number,
    ];
    if (count > rule.limit) throw new RateLimitedError(Math.max(1, Math.ceil(ttlMs / 1000)));
  }
}
