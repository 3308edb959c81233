import { createHash, timingSafeEqual } from "node:crypto";

/** The outcome of checking a `?token=`: valid, or why not (a tampered and an expired token are both 403). */
export type MediaTokenCheck = { ok: true; expiresAtSeconds: number } | { ok: false; reason: string };

const TOKEN_SHAPE = /^(\d{1,12})\.([A-Za-z0-9_-]{22})$/;

/**
 * Short-lived signed media URLs: `<expiry seconds>.<tag>`, tag = base64url(MD5("<expiry>:<videoId>:<secret>")),
 * which is exactly nginx's `secure_link` construction, so the edge (infra/nginx/edge.conf.template)
 * checks the same token natively and sends segments with sendfile without waking the api. The message is
 * always ours (two integers), so MD5's collision weakness gives an attacker nothing to work with; the
 * secret is MEDIA_TOKEN_SECRET, never JWT_SECRET itself. Checking is a regex, one MD5 over a few bytes
 * and a constant-time compare: no database, no JSON. Tokens minted close together share their expiry
 * (rounded up to a bucket), so the playlists a player fetches stay byte-identical for a while: cacheable,
 * and the same ETag.
 */
export class MediaTokens {
  private readonly bucketSeconds: number;

  constructor(
    private readonly secret: string,
    readonly ttlSeconds: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.bucketSeconds = Math.max(1, Math.min(300, Math.floor(ttlSeconds / 10)));
  }

  /** A token for `videoId` valid for at least the configured lifetime. */
  mint(videoId: number): string {
    const earliest = Math.floor(this.nowMs() / 1000) + this.ttlSeconds;
    const expires = Math.ceil(earliest / this.bucketSeconds) * this.bucketSeconds;
    return `${expires}.${this.tag(videoId, expires)}`;
  }

  check(videoId: number, token: string): MediaTokenCheck {
    const match = TOKEN_SHAPE.exec(token);
    if (!match) return { ok: false, reason: "The media token is malformed." };
    const expires = Number(match[1]);
    // Compared as text: decoding would accept the other spellings of the last base64 character.
    const expected = Buffer.from(this.tag(videoId, expires), "latin1");
    const sent = Buffer.from(match[2]!, "latin1");
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      return { ok: false, reason: "The media token is invalid for this video." };
    }
    if (expires * 1000 <= this.nowMs()) return { ok: false, reason: "The media token has expired." };
    return { ok: true, expiresAtSeconds: expires };
  }

  private tag(videoId: number, expires: number): string {
    return createHash("md5").update(`${expires}:${videoId}:${this.secret}`).digest("base64url");
  }
}
