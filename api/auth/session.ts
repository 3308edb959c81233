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
  /** Called once a revocation was heard (`revokedNow` already says so), to forget what it covers. */
  onRevoked(listener: () => void): void;
}

interface CachedSession {
  /** The token it is kept under in `verified`, so that the entry can be dropped from a header. */
  token: string;
  user: SessionUser;
  expiresAtMs: number;
  /** When the revocation check last passed: the cache believes it for REVOCATION_RECHECK_MS. */
  checkedAtMs: number;
  /**
   * The Cookie headers that point to the entry in `byCookieHeader`, oldest first: they leave the index
   * with it, so a header (which holds the refresh and CSRF cookies too) outlives no entry.
   */
  headers?: string[];
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
 * MiB whatever clients send. A longer header takes the token's path without touching the index; so
 * does a new header while the index is full of headers whose entries still stand: nobody's header is
 * pushed out for it.
 */
const MAX_CACHED_HEADERS = 20_000;
const MAX_CACHED_HEADER_LENGTH = 2048;
/**
 * Headers per token: a browser sends two (the api's paths carry the refresh cookie, media's do not),
 * plus room for a cookie that changed. Past it a token's own oldest header goes, so one token can
 * never take more than this of the index, whatever it is sent with.
 */
export const MAX_HEADERS_PER_TOKEN = 4;
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
      this.verified.clear();
      this.byCookieHeader.clear();
    });
    revocations?.onRevoked(() => this.dropRevokedHeaders(revocations));
  }

  /** How many Cookie headers the second index holds (its bounds are part of the cache's contract). */
  get cookieHeadersIndexed(): number {
    return this.byCookieHeader.size;
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
    if (stands === false) this.drop(cached);
    return undefined;
  }

  /**
   * `cached` for the token of a Cookie header's `access_token` cookie, looked up by the header's whole
   * text first. A request's header arrives as one flat string, which a Map finds in ≈ 50 ns, against
   * ≈ 150–200 ns for the token sliced out of it (a fresh substring, hashed anew: BENCHMARKS.md), and a
   * client sends the same header request after request. A header is remembered only once its token hit
   * the cache, and points to that token's entry for as long as the entry is in `verified` (the same text
   * always yields the same token): the entry gets the same checks (expiry, revocation, re-check) as
   * through `cached`. Only the course client's tokens are indexed: a dialect's token in the cookie is
   * refused by every cookie resolver, so its headers would be room taken for nothing.
   */
  cachedForCookie(header: string | null): SessionUser | undefined {
    if (!header) return undefined;
    // Checked before the lookup: hashing a header of any length would be work the client chose.
    if (header.length > MAX_CACHED_HEADER_LENGTH) return this.cached(accessTokenIn(header));
    const known = this.byCookieHeader.get(header);
    if (known) {
      const stands = this.stands(known);
      if (stands) return known.user;
      if (stands === false) this.drop(known);
      return undefined;
    }
    const token = accessTokenIn(header);
    const user = this.cached(token);
    if (user && user.dialect === undefined) this.index(header, this.verified.get(token!)!);
    return user;
  }

  /** Points `header` to `entry`, within the entry's own share of the index and the index's bound. */
  private index(header: string, entry: CachedSession): void {
    const headers = entry.headers ?? [];
    if (headers.length >= MAX_HEADERS_PER_TOKEN) this.byCookieHeader.delete(headers.shift()!);
    else if (this.byCookieHeader.size >= MAX_CACHED_HEADERS && !this.sweepDeadHeaders()) return;
    headers.push(header);
    entry.headers = headers;
    this.byCookieHeader.set(header, entry);
  }

  /**
   * Drops the entries behind the oldest headers while they no longer stand (expired, revoked, due for
   * their re-check), so that a full index makes room from the dead and never from the living. Stops at
   * the first that stands: an entry stands at most REVOCATION_RECHECK_MS (or its lifetime), so it
   * blocks the sweep no longer than that. True when there is room now.
   */
  private sweepDeadHeaders(): boolean {
    for (const entry of this.byCookieHeader.values()) {
      if (this.stands(entry) !== false) break;
      this.drop(entry);
    }
    return this.byCookieHeader.size < MAX_CACHED_HEADERS;
  }

  /**
   * A revocation heard: the headers of the sessions it covers leave the index now rather than at their
   * next lookup (after a logout there may be none), so their refresh and CSRF cookies do not linger.
   * Their entries go too: `revokedNow` refused them already, so this changes what is kept, not what is
   * refused. One pass over at most MAX_CACHED_HEADERS per revocation heard, off the request path.
   */
  private dropRevokedHeaders(revocations: RevocationCheck): void {
    for (const entry of this.byCookieHeader.values()) {
      if (revocations.revokedNow(entry.user)) this.drop(entry);
    }
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
    let claims: Pick<CachedSession, "user" | "expiresAtMs"> | null;
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
    this.remember({ token, ...claims, checkedAtMs: this.now() });
    return claims.user;
  }

  private remember(session: CachedSession): void {
    if (this.verified.size >= MAX_CACHED) {
      for (const entry of oldestTenth(this.verified, MAX_CACHED)) this.drop(entry);
    }
    // Two verify calls of one token that both missed: the later entry replaces the earlier one, and the
    // earlier one's headers go with it (they would point to an entry no longer in `verified`).
    const replaced = this.verified.get(session.token);
    if (replaced) this.unindex(replaced);
    this.verified.set(session.token, session);
  }

  /** The entry leaves the cache, and every header that points to it the index (O(its headers)). */
  private drop(entry: CachedSession): void {
    if (this.verified.get(entry.token) === entry) this.verified.delete(entry.token);
    this.unindex(entry);
  }

  private unindex(entry: CachedSession): void {
    if (!entry.headers) return;
    for (const header of entry.headers) this.byCookieHeader.delete(header);
    entry.headers = undefined;
  }
}

/** Maps iterate in insertion order: the oldest tenth of a full one, to drop in one sweep. */
function oldestTenth<V>(map: Map<string, V>, capacity: number): V[] {
  const oldest: V[] = [];
  for (const value of map.values()) {
    if (oldest.push(value) >= Math.ceil(capacity / 10)) break;
  }
  return oldest;
}
