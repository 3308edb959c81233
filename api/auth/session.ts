import { errors, jwtVerify, SignJWT } from "jose";
import { AVAILABLE_DIALECTS, type AvailableDialect } from "../config/compat.ts";
import { accessTokenIn } from "./access-cookie.ts";

export interface SessionUser {
  id: number;
  email: string;
  isAdmin: boolean;
  /** The session (refresh-token family) the access token belongs to: its `sid` claim. */
  sessionId: string;
  /** The user's revocation epoch the token was signed under: its `uep` claim. */
  userEpoch: number;
  /**
   * The client dialect the session was started through (its `dia` claim); absent for the course
   * client's cookies. Each resolver accepts only its own (api/auth/plugin.ts).
   */
  dialect?: AvailableDialect;
}

const isDialectClaim = (value: unknown): value is AvailableDialect =>
  (AVAILABLE_DIALECTS as readonly unknown[]).includes(value);

/**
 * Whether a verified token's session has been revoked since it was signed (RevocationEpochs). The
 * synchronous check guards the cache; the asynchronous one decides a token seen for the first time.
 */
export interface RevocationCheck {
  /** False while revocations may be missed (the event bus is down): the cache is not used then. */
  readonly trusted: boolean;
  revokedNow(user: SessionUser): boolean;
  isRevoked(user: SessionUser): Promise<boolean>;
  /** Called when revocations may have been missed, so that what was cached before is forgotten. */
  onMissed(listener: () => void): void;
}

interface CachedSession {
  user: SessionUser;
  expiresAtMs: number;
  /** When the revocation check last passed: the cache believes it for REVOCATION_RECHECK_MS. */
  checkedAtMs: number;
  /** Set once the entry left `verified`: a Cookie header that points to it is believed no more. */
  dropped?: true;
}

/**
 * How long a cached verdict stands before the token is checked against Redis or PostgreSQL again.
 * Bounds a revocation whose announcement never reached this replica (the announcing replica lost
 * Redis, then died) to this plus a stale Redis copy's TTL, instead of the token's whole lifetime.
 */
export const REVOCATION_RECHECK_MS = 60_000;

const MAX_CACHED = 50_000;
/**
 * Cookie headers remembered beside their tokens: fewer and shorter than the tokens (a browser's header
 * is its access, refresh and CSRF cookies, well under 2 KB), so the second index stays within tens of
 * MiB whatever clients send; a longer header or a full index just takes the token's path.
 */
const MAX_CACHED_HEADERS = 20_000;
const MAX_CACHED_HEADER_LENGTH = 2048;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Signs and verifies the short-lived access JWT (HS256). A token that verified once is remembered,
 * keyed by its full text, until it expires or its session is revoked: only a byte-identical token that
 * already passed the signature and revocation checks can hit the cache, so authenticated requests cost
 * a few Map lookups instead of an HMAC, a JSON parse and a Redis round trip.
 */
export class AccessTokens {
  private readonly key: Uint8Array;
  private readonly verified = new Map<string, CachedSession>();
  /** Cookie headers whose access token hit `verified`, to that token's very entry (cachedForCookie). */
  private readonly byCookieHeader = new Map<string, CachedSession>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    /** Without one, a token is valid until it expires (unit tests of the JWT itself). */
    private readonly revocations?: RevocationCheck,
    private readonly recheckAfterMs = REVOCATION_RECHECK_MS,
  ) {
    this.key = new TextEncoder().encode(secret);
    revocations?.onMissed(() => {
      for (const entry of this.verified.values()) entry.dropped = true;
      this.verified.clear();
      this.byCookieHeader.clear();
    });
  }

  sign(user: SessionUser): Promise<string> {
    const dialect = user.dialect ? { dia: user.dialect } : {};
    return new SignJWT({
      email: user.email,
      adm: user.isAdmin,
      sid: user.sessionId,
      uep: user.userEpoch,
      ...dialect,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(user.id))
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(this.now() / 1000) + this.ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(this.key);
  }

  /**
   * The user of a token that already verified, has not expired and was not revoked since,
   * synchronously; undefined when the token has to go through `verify`. Lets the hot path skip a promise.
   */
  cached(token: string | undefined): SessionUser | undefined {
    if (!token) return undefined;
    const cached = this.verified.get(token);
    if (!cached) return undefined;
    const stands = this.stands(cached);
    if (stands) return cached.user;
    if (stands === false) this.drop(token, cached);
    return undefined;
  }

  /**
   * `cached` for the token of a Cookie header's `access_token` cookie, looked up by the header's whole
   * text first. A request's header arrives as one flat string, which a Map finds in ≈ 50 ns, against
   * ≈ 150–200 ns for the token sliced out of it (a fresh substring, hashed anew: BENCHMARKS.md), and a
   * client sends the same header request after request. A header is remembered only once its token hit
   * the cache, and points to that token's entry: the same text always yields the same token, and the
   * entry gets the same checks (expiry, revocation, re-check) as through `cached`.
   */
  cachedForCookie(header: string | null): SessionUser | undefined {
    if (!header) return undefined;
    const known = this.byCookieHeader.get(header);
    if (known && !known.dropped) {
      const stands = this.stands(known);
      if (stands) return known.user;
      if (stands === undefined) return undefined;
    }
    if (known) this.byCookieHeader.delete(header);
    const token = accessTokenIn(header);
    const user = this.cached(token);
    const entry = user && this.verified.get(token!);
    if (entry && header.length <= MAX_CACHED_HEADER_LENGTH) {
      if (this.byCookieHeader.size >= MAX_CACHED_HEADERS) {
        for (const [old] of oldestTenth(this.byCookieHeader, MAX_CACHED_HEADERS))
          this.byCookieHeader.delete(old);
      }
      this.byCookieHeader.set(header, entry);
    }
    return user;
  }

  /**
   * Whether a cached verdict still stands: unexpired, its revocation check recent enough and nothing
   * heard against it since. Undefined while revocations may be missed: believed no more, but kept.
   */
  private stands(cached: CachedSession): boolean | undefined {
    const nowMs = this.now();
    if (cached.expiresAtMs <= nowMs) return false;
    const revocations = this.revocations;
    if (!revocations) return true;
    if (!revocations.trusted) return undefined;
    return nowMs - cached.checkedAtMs < this.recheckAfterMs && !revocations.revokedNow(cached.user);
  }

  /**
   * The session's user, or null for a missing, malformed, tampered, expired, revoked or `alg: none`
   * token.
   */
  async verify(token: string | undefined): Promise<SessionUser | null> {
    if (!token || token.length > 4096) return null;
    const cached = this.cached(token);
    if (cached) return cached;
    let claims: Omit<CachedSession, "checkedAtMs"> | null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ["HS256"],
        currentDate: new Date(this.now()),
        requiredClaims: ["sub", "exp", "sid", "uep"],
      });
      const id = Number(payload.sub);
      const { email, exp, sid, uep, dia } = payload;
      claims =
        Number.isSafeInteger(id) &&
        typeof email === "string" &&
        typeof exp === "number" &&
        typeof sid === "string" &&
        UUID.test(sid) &&
        Number.isSafeInteger(uep) &&
        (dia === undefined || isDialectClaim(dia))
          ? {
              user: {
                id,
                email,
                isAdmin: payload.adm === true,
                sessionId: sid,
                userEpoch: uep as number,
                ...(dia === undefined ? {} : { dialect: dia }),
              },
              expiresAtMs: exp * 1000,
            }
          : null;
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
    if (!claims) return null;
    if (this.revocations && (await this.revocations.isRevoked(claims.user))) return null;
    this.remember(token, { ...claims, checkedAtMs: this.now() });
    return claims.user;
  }

  private remember(token: string, session: CachedSession): void {
    if (this.verified.size >= MAX_CACHED) {
      for (const [old, entry] of oldestTenth(this.verified, MAX_CACHED)) this.drop(old, entry);
    }
    const replaced = this.verified.get(token);
    if (replaced) replaced.dropped = true;
    this.verified.set(token, session);
  }

  private drop(token: string, entry: CachedSession): void {
    entry.dropped = true;
    this.verified.delete(token);
  }
}

/** Maps iterate in insertion order: the oldest tenth of a full one, to drop in one sweep. */
function oldestTenth<V>(map: Map<string, V>, capacity: number): [string, V][] {
  const oldest: [string, V][] = [];
  for (const entry of map) {
    if (oldest.push(entry) >= Math.ceil(capacity / 10)) break;
  }
  return oldest;
}
