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

// Gives back one attempt of a window that is still open; an expired key is not brought back.
const REFUND_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > 0 then redis.call('DECR', KEYS[1]) end
return current
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
    const key = this.key(action, scope, subject);
    const [count, ttlMs] = (await this.redis.eval(HIT_SCRIPT, 1, key, rule.windowSeconds * 1000)) as [
      number,
      number,
    ];
    if (count > rule.limit) throw new RateLimitedError(Math.max(1, Math.ceil(ttlMs / 1000)));
  }

  /**
   * Takes back an attempt recorded by `hit` that turned out not to count (a successful login), so
   * that a limit counts failures only while parallel attempts still each take a place first.
   */
  async refund(action: RateLimitAction, scope: RateLimitScope, subject: string): Promise<void> {
    await this.redis.eval(REFUND_SCRIPT, 1, this.key(action, scope, subject));
  }

  private key(action: RateLimitAction, scope: RateLimitScope, subject: string): string {
    // Subjects are hashed so that no email address sits in Redis in clear text.
    const digest = createHash("sha256").update(subject.toLowerCase()).digest("base64url").slice(0, 22);
    return `${this.keyPrefix}:${action}:${scope}:${digest}`;
  }
}
