const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "90", "90s", "30m", "12h" or "7d" into whole seconds; null when malformed. */
export function parseDurationSeconds(value: string): number | null {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = (match[2] || "s").toLowerCase();
  const seconds = amount * (UNIT_SECONDS[unit] ?? 1);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : null;
}

export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

/** Parses a rate limit like "10/15m" (10 requests per 15 minutes); null when malformed. */
export function parseRateLimit(value: string): RateLimitRule | null {
  const parts = value.split("/");
  const [count, window] = parts;
  if (parts.length !== 2 || count === undefined || window === undefined || !/^\d+$/.test(count.trim()))
    return null;
  const limit = Number(count);
  const windowSeconds = parseDurationSeconds(window);
  if (limit < 1 || windowSeconds === null) return null;
  return { limit, windowSeconds };
}
