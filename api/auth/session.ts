import { errors, jwtVerify, SignJWT } from "jose";

export interface SessionUser {
  id: number;
  email: string;
  isAdmin: boolean;
}

interface CachedSession {
  user: SessionUser;
  expiresAtMs: number;
}

const MAX_CACHED = 50_000;

/**
 * Signs and verifies the short-lived access JWT (HS256). A token that verified once is remembered,
 * keyed by its full text, until it expires: only a byte-identical token that already passed the
 * signature check can hit the cache, so authenticated requests cost a Map lookup instead of an HMAC
 * and a JSON parse.
 */
export class AccessTokens {
  private readonly key: Uint8Array;
  private readonly verified = new Map<string, CachedSession>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(user: SessionUser): Promise<string> {
    return new SignJWT({ email: user.email, adm: user.isAdmin })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(user.id))
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(this.now() / 1000) + this.ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(this.key);
  }

  /**
   * The user of a token that already verified and has not expired, synchronously; undefined when the
   * token has to go through `verify`. Lets the hot path skip a promise.
   */
  cached(token: string | undefined): SessionUser | undefined {
    if (!token) return undefined;
    const cached = this.verified.get(token);
    if (!cached) return undefined;
    if (cached.expiresAtMs > this.now()) return cached.user;
    this.verified.delete(token);
    return undefined;
  }

  /** The session's user, or null for a missing, malformed, tampered, expired or `alg: none` token. */
  async verify(token: string | undefined): Promise<SessionUser | null> {
    if (!token || token.length > 4096) return null;
    const cached = this.cached(token);
    if (cached) return cached;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ["HS256"],
        currentDate: new Date(this.now()),
        requiredClaims: ["sub", "exp"],
      });
      const id = Number(payload.sub);
      if (!Number.isSafeInteger(id) || typeof payload.email !== "string" || typeof payload.exp !== "number")
        return null;
      const user: SessionUser = { id, email: payload.email, isAdmin: payload.adm === true };
      this.remember(token, { user, expiresAtMs: payload.exp * 1000 });
      return user;
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }

  private remember(token: string, session: CachedSession): void {
    if (this.verified.size >= MAX_CACHED) {
      // Maps iterate in insertion order: drop the oldest tenth in one sweep.
      let toDrop = Math.ceil(MAX_CACHED / 10);
      for (const key of this.verified.keys()) {
        this.verified.delete(key);
        if (--toDrop === 0) break;
      }
    }
    this.verified.set(token, session);
  }
}
