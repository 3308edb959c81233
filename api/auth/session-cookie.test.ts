// The second index of the access-token cache, keyed by the whole Cookie header: what it answers, and
// what it keeps (a header holds the refresh and CSRF cookies too): bounded per token and in all, never
// a dialect's token, nothing a dropped, replaced, evicted or revoked entry left behind.
import { describe, expect, test } from "bun:test";
import { cookieSession } from "./plugin.ts";
import { AccessTokens, MAX_HEADERS_PER_TOKEN, type SessionUser } from "./session.ts";

const SECRET = "unit-test-secret-that-is-long-enough-0123456789";
const TTL = 1800;
const SESSION = "0b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11";
const OTHER_SESSION = "1b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11";
const ann: SessionUser = {
  id: 42,
  email: "ann@example.com",
  isAdmin: false,
  sessionId: SESSION,
  userEpoch: 0,
};

/** AccessTokens on a clock the test moves by hand. */
function tokensAt(startMs = Date.UTC(2030, 0, 1)) {
  const clock = { ms: startMs };
  return { tokens: new AccessTokens(SECRET, TTL, () => clock.ms), clock };
}

/**
 * A RevocationCheck the test drives: what the replica heard, and whether the bus is live. `revoke` is
 * a revocation heard (its listeners told); adding to `revoked` alone is one not yet announced here.
 */
function revocationsByHand() {
  const heard = {
    revoked: new Set<string>(),
    trusted: true,
    missed: [] as (() => void)[],
    revokedListeners: [] as (() => void)[],
    /** Each `isRevoked` call waits for the next of these, if any: verify calls held in flight. */
    gates: [] as Promise<void>[],
  };
  const check = {
    get trusted() {
      return heard.trusted;
    },
    revokedNow: (user: SessionUser) => heard.revoked.has(user.sessionId),
    isRevoked: async (user: SessionUser) => {
      await heard.gates.shift();
      return heard.revoked.has(user.sessionId);
    },
    onMissed: (listener: () => void) => void heard.missed.push(listener),
    onRevoked: (listener: () => void) => void heard.revokedListeners.push(listener),
  };
  const revoke = (sessionId: string) => {
    heard.revoked.add(sessionId);
    for (const listener of heard.revokedListeners) listener();
  };
  return { heard, check, revoke };
}

describe("AccessTokens.cachedForCookie: the cache looked up by the whole Cookie header", () => {
  const cookieOf = (token: string, others = "csrftoken=abc") => `${others}; access_token=${token}`;

  test("answers a header only once its token verified, then the same user object", async () => {
    const { tokens } = tokensAt();
    const token = await tokens.sign(ann);
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    const user = await tokens.verify(token);
    expect(tokens.cachedForCookie(cookieOf(token))).toBe(user!);
    expect(tokens.cachedForCookie(cookieOf(token))).toBe(user!); // now by the header itself
    expect(tokens.cachedForCookie(cookieOf(token, "csrftoken=other"))).toBe(user!);
    expect(tokens.cachedForCookie(null)).toBeUndefined();
    expect(tokens.cachedForCookie("csrftoken=abc")).toBeUndefined();
  });

  test("the same rule for the cookie as the token's: another name or a tampered token opens nothing", async () => {
    const { tokens } = tokensAt();
    const token = await tokens.sign(ann);
    await tokens.verify(token);
    expect(tokens.cachedForCookie(`x${cookieOf(token, "my_access_token=x")}`)).toBe(tokens.cached(token)!);
    expect(tokens.cachedForCookie(`my_access_token=${token}`)).toBeUndefined();
    expect(tokens.cachedForCookie(cookieOf(`${token}x`))).toBeUndefined();
    expect(tokens.cachedForCookie(`access_token=other; access_token=${token}`)).toBeUndefined();
  });

  test("a remembered header expires with its token", async () => {
    const { tokens, clock } = tokensAt();
    const token = await tokens.sign(ann);
    await tokens.verify(token);
    expect(tokens.cachedForCookie(cookieOf(token))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(1);
    clock.ms += TTL * 1000;
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    expect(tokens.cookieHeadersIndexed).toBe(0); // the header left with its entry
    clock.ms -= 1000; // a clock that steps back does not bring the dropped entry back
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    expect(tokens.cached(token)).toBeUndefined();
  });

  test("a revocation heard reaches a remembered header at once; a re-check goes through verify", async () => {
    const clock = { ms: Date.UTC(2030, 0, 1) };
    const { heard, check } = revocationsByHand();
    const tokens = new AccessTokens(SECRET, TTL, () => clock.ms, check, 60_000);
    const token = await tokens.sign(ann);
    const other = await tokens.sign({ ...ann, sessionId: "1b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11" });
    await tokens.verify(token);
    await tokens.verify(other);
    expect(tokens.cachedForCookie(cookieOf(token))).toEqual(ann);
    expect(tokens.cachedForCookie(cookieOf(token))).toEqual(ann);

    heard.trusted = false; // the bus is down: nothing cached is believed
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    heard.trusted = true;
    expect(tokens.cachedForCookie(cookieOf(token))).toEqual(ann);

    clock.ms += 60_000; // the verdict is old: only verify may renew it
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    expect(await tokens.verify(token)).toEqual(ann);
    expect(tokens.cachedForCookie(cookieOf(token))).toEqual(ann);
    await tokens.verify(other);

    heard.revoked.add(SESSION);
    expect(tokens.cachedForCookie(cookieOf(token))).toBeUndefined();
    expect(await tokens.verify(token)).toBeNull();
    expect(tokens.cachedForCookie(cookieOf(other))).toEqual({
      ...ann,
      sessionId: "1b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11",
    });

    for (const missed of heard.missed) missed(); // a gap in the subscription: everything is forgotten
    expect(tokens.cachedForCookie(cookieOf(other))).toBeUndefined();
  });
});

describe("AccessTokens.cachedForCookie: what the Cookie-header index keeps", () => {
  const cookieOf = (token: string, others = "csrftoken=abc") => `${others}; access_token=${token}`;
  const bob = { ...ann, id: 43, email: "bob@example.com", sessionId: OTHER_SESSION };

  test("a token keeps at most its own few headers: the next one replaces its oldest, nobody else's", async () => {
    const { tokens } = tokensAt();
    const [token, others] = [await tokens.sign(ann), await tokens.sign(bob)];
    await Promise.all([tokens.verify(token), tokens.verify(others)]);
    expect(tokens.cachedForCookie(cookieOf(others))).toEqual(bob);
    // A client sending one valid token with ever new cookies beside it (the flood of the review).
    for (let i = 0; i < 20_000; i++) expect(tokens.cachedForCookie(cookieOf(token, `p=${i}`))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(MAX_HEADERS_PER_TOKEN + 1);
    // The newest ones answer from the index, the oldest through the token (and take a place again).
    expect(tokens.cachedForCookie(cookieOf(token, "p=19999"))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(MAX_HEADERS_PER_TOKEN + 1);
    expect(tokens.cachedForCookie(cookieOf(token, "p=0"))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(MAX_HEADERS_PER_TOKEN + 1);
    expect(tokens.cachedForCookie(cookieOf(others))).toEqual(bob);
  });

  test("a header over 2 KB is answered through its token and never indexed", async () => {
    const { tokens } = tokensAt();
    const token = await tokens.sign(ann);
    await tokens.verify(token);
    const atLimit = cookieOf(token, `p=${"x".repeat(2048 - cookieOf(token, "p=").length)}`);
    expect(atLimit.length).toBe(2048);
    const over = `${atLimit}; q=1`;
    expect(tokens.cachedForCookie(over)).toEqual(ann);
    expect(tokens.cachedForCookie(over)).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(0);
    expect(tokens.cachedForCookie(atLimit)).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(1);
    expect(tokens.cachedForCookie(`q=1; access_token=${token}x; ${"y".repeat(2048)}`)).toBeUndefined();
  });

  test("a dialect's token in the cookie is not indexed, and cookieSession.cachedOf refuses it", async () => {
    const { tokens } = tokensAt();
    const djoser = await tokens.sign({ ...ann, dialect: "djoser" });
    expect(await tokens.verify(djoser)).toEqual({ ...ann, dialect: "djoser" });
    const request = new Request("http://localhost/api/video/1/master.m3u8", {
      headers: { cookie: cookieOf(djoser) },
    });
    expect(cookieSession.cachedOf(tokens, request)).toBeNull();
    expect(cookieSession.cachedOf(tokens, request)).toBeNull();
    // The macro refuses it by its dialect too (plugin.test.ts); it just never takes a place here.
    expect(tokens.cachedForCookie(cookieOf(djoser))).toEqual({ ...ann, dialect: "djoser" });
    expect(tokens.cookieHeadersIndexed).toBe(0);
  });

  test("two verify calls of one token: the later entry replaces the earlier one, and its headers go", async () => {
    const clock = { ms: Date.UTC(2030, 0, 1) };
    const { heard, check } = revocationsByHand();
    const tokens = new AccessTokens(SECRET, TTL, () => clock.ms, check);
    const token = await tokens.sign(ann);
    const lets: (() => void)[] = [];
    for (let i = 0; i < 2; i++) heard.gates.push(new Promise((resolve) => lets.push(resolve)));
    const calls = [tokens.verify(token), tokens.verify(token)];
    lets[0]!(); // one call's revocation check answers: its entry is remembered
    const earlier = await Promise.race(calls);
    expect(tokens.cachedForCookie(cookieOf(token))).toBe(earlier!);
    expect(tokens.cachedForCookie(cookieOf(token))).toBe(earlier!); // by the header now
    expect(tokens.cookieHeadersIndexed).toBe(1);
    lets[1]!();
    const later = (await Promise.all(calls)).find((user) => user !== earlier);
    expect(later).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(0);
    expect(tokens.cachedForCookie(cookieOf(token))).toBe(later!);
    expect(tokens.cookieHeadersIndexed).toBe(1);
  });

  test("a header of an entry evicted from the full cache (50,000 tokens) goes with it", async () => {
    const { tokens } = tokensAt();
    const tokensSigned = await Promise.all(Array.from({ length: 50_000 }, () => tokens.sign(ann)));
    const [oldest, newest] = [tokensSigned[0]!, tokensSigned.at(-1)!];
    await tokens.verify(oldest);
    expect(tokens.cachedForCookie(cookieOf(oldest))).toEqual(ann);
    for (let i = 1; i < tokensSigned.length; i += 1000) {
      await Promise.all(tokensSigned.slice(i, i + 1000).map((token) => tokens.verify(token)));
    }
    expect(tokens.cachedForCookie(cookieOf(newest))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(2);
    expect(tokens.cached(oldest)).toEqual(ann); // still there: the cache holds exactly 50,000

    const oneMore = await tokens.sign(ann);
    await tokens.verify(oneMore); // the oldest tenth is evicted, `oldest` first
    expect(tokens.cached(oldest)).toBeUndefined();
    expect(tokens.cookieHeadersIndexed).toBe(1);
    expect(tokens.cachedForCookie(cookieOf(oldest))).toBeUndefined();
    expect(tokens.cachedForCookie(cookieOf(newest))).toEqual(ann);
  });

  test("a revocation heard takes its session's headers out of the index at once, nobody else's", async () => {
    const clock = { ms: Date.UTC(2030, 0, 1) };
    const { check, revoke, heard } = revocationsByHand();
    const tokens = new AccessTokens(SECRET, TTL, () => clock.ms, check);
    const [token, refreshed, others] = [
      await tokens.sign(ann),
      await tokens.sign(ann),
      await tokens.sign(bob),
    ];
    await Promise.all([tokens.verify(token), tokens.verify(refreshed), tokens.verify(others)]);
    tokens.cachedForCookie(cookieOf(token)); // the api's paths
    tokens.cachedForCookie(`access_token=${token}`); // media's
    tokens.cachedForCookie(cookieOf(refreshed));
    tokens.cachedForCookie(cookieOf(others));
    expect(tokens.cookieHeadersIndexed).toBe(4);

    revoke(SESSION); // a logout: the client sends nothing with these headers again
    expect(tokens.cookieHeadersIndexed).toBe(1);
    expect(tokens.cached(token)).toBeUndefined();
    expect(tokens.cached(refreshed)).toBeUndefined();
    expect(await tokens.verify(token)).toBeNull(); // exactly as refused as before
    expect(tokens.cachedForCookie(cookieOf(others))).toEqual(bob);

    for (const missed of heard.missed) missed();
    expect(tokens.cookieHeadersIndexed).toBe(0);
  });

  test("a full index takes no new header while its entries stand, and makes room from the dead", async () => {
    const { tokens, clock } = tokensAt();
    const filling = await Promise.all(
      Array.from({ length: 20_000 / MAX_HEADERS_PER_TOKEN }, () => tokens.sign(ann)),
    );
    await Promise.all(filling.map((token) => tokens.verify(token)));
    for (const token of filling) {
      for (let i = 0; i < MAX_HEADERS_PER_TOKEN; i++) tokens.cachedForCookie(cookieOf(token, `p=${i}`));
    }
    expect(tokens.cookieHeadersIndexed).toBe(20_000);

    clock.ms += 1000;
    const late = await tokens.sign(ann);
    await tokens.verify(late);
    expect(tokens.cachedForCookie(cookieOf(late))).toEqual(ann); // answered through its token…
    expect(tokens.cookieHeadersIndexed).toBe(20_000); // …pushing nobody out
    expect(tokens.cachedForCookie(cookieOf(filling[0]!, "p=0"))).toEqual(ann);

    clock.ms += (TTL - 1) * 1000; // the filling expires, `late` does not yet
    expect(tokens.cachedForCookie(cookieOf(late))).toEqual(ann);
    expect(tokens.cookieHeadersIndexed).toBe(1);
    expect(tokens.cached(filling[0])).toBeUndefined();
  });
});
