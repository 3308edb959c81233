import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { AccessTokens, type SessionUser } from "./session.ts";

const SECRET = "unit-test-secret-that-is-long-enough-0123456789";
const TTL = 1800;
const SESSION = "0b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11";
const ann: SessionUser = {
  id: 42,
  email: "ann@example.com",
  isAdmin: false,
  sessionId: SESSION,
  userEpoch: 0,
};
/** The session claims every token we sign carries. */
const session = { sid: SESSION, uep: 0 };

/** AccessTokens on a clock the test moves by hand. */
function tokensAt(startMs = Date.UTC(2030, 0, 1)) {
  const clock = { ms: startMs };
  return { tokens: new AccessTokens(SECRET, TTL, () => clock.ms), clock };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token signed with the right secret but claims of our choosing. */
const signRaw = (claims: Record<string, unknown>, alg = "HS256", secret = SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));

describe("AccessTokens", () => {
  test("sign → verify round trip returns the user", async () => {
    const { tokens } = tokensAt(Date.now());
    const admin = { id: 7, email: "root@example.com", isAdmin: true, sessionId: SESSION, userEpoch: 3 };
    expect(await tokens.verify(await tokens.sign(ann))).toEqual(ann);
    expect(await tokens.verify(await tokens.sign(admin))).toEqual(admin);
  });

  test("every signed token is distinct (jti), even in the same second", async () => {
    const { tokens } = tokensAt();
    expect(await tokens.sign(ann)).not.toBe(await tokens.sign(ann));
  });

  test("a second verify is served from the cache: the same user object", async () => {
    const { tokens } = tokensAt();
    const token = await tokens.sign(ann);
    expect(tokens.cached(token)).toBeUndefined();
    const first = await tokens.verify(token);
    expect(tokens.cached(token)).toBe(first!);
    expect(await tokens.verify(token)).toBe(first);
  });

  test("the token expires after its TTL, even once cached", async () => {
    const { tokens, clock } = tokensAt();
    const token = await tokens.sign(ann);
    expect(await tokens.verify(token)).toEqual(ann);
    clock.ms += (TTL - 1) * 1000;
    expect(await tokens.verify(token)).toEqual(ann);
    clock.ms += 1000; // exactly at exp
    expect(tokens.cached(token)).toBeUndefined();
    expect(await tokens.verify(token)).toBeNull();
    clock.ms += 3600_000;
    expect(await tokens.verify(token)).toBeNull();
  });

  test("an expired token that was never cached is refused too", async () => {
    const { tokens, clock } = tokensAt();
    const token = await tokens.sign(ann);
    clock.ms += TTL * 1000;
    expect(await tokens.verify(token)).toBeNull();
  });

  test("a tampered signature or payload is refused", async () => {
    const { tokens } = tokensAt(Date.now());
    const token = await tokens.sign(ann);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    expect(await tokens.verify(`${header}.${payload}.${flipped}`)).toBeNull();
    expect(await tokens.verify(`${header}.${payload}.`)).toBeNull();
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const promoted = b64url({ ...claims, adm: true });
    expect(await tokens.verify(`${header}.${promoted}.${signature}`)).toBeNull();
    // The genuine token still verifies: the refusals above were not a broken verifier.
    expect(await tokens.verify(token)).toEqual(ann);
  });

  test("`alg: none` is refused", async () => {
    const { tokens } = tokensAt(Date.now());
    const exp = Math.floor(Date.now() / 1000) + 600;
    const claims = { sub: "42", email: ann.email, adm: true, exp };
    expect(await tokens.verify(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`)).toBeNull();
    expect(await tokens.verify(`${b64url({ alg: "none" })}.${b64url(claims)}`)).toBeNull();
  });

  test("another secret or another algorithm is refused", async () => {
    const { tokens } = tokensAt(Date.now());
    const other = new AccessTokens("another-secret-that-is-also-long-enough-000", TTL);
    expect(await tokens.verify(await other.sign(ann))).toBeNull();
    const claims = { sub: "42", email: ann.email, ...session };
    expect(await tokens.verify(await signRaw(claims, "HS512"))).toBeNull();
    expect(await tokens.verify(await signRaw(claims))).toEqual(ann);
  });

  test("well-signed tokens with unusable claims are refused", async () => {
    const { tokens } = tokensAt(Date.now());
    expect(await tokens.verify(await signRaw({ sub: "abc", email: ann.email, ...session }))).toBeNull();
    expect(await tokens.verify(await signRaw({ sub: "42", ...session }))).toBeNull();
    expect(await tokens.verify(await signRaw({ email: ann.email, ...session }))).toBeNull();
    // Without its session claims a token cannot be revoked, so it is not accepted.
    expect(await tokens.verify(await signRaw({ sub: "42", email: ann.email }))).toBeNull();
    expect(await tokens.verify(await signRaw({ sub: "42", email: ann.email, sid: SESSION }))).toBeNull();
    expect(await tokens.verify(await signRaw({ sub: "42", email: ann.email, sid: "x", uep: 0 }))).toBeNull();
    expect(
      await tokens.verify(await signRaw({ sub: "42", email: ann.email, sid: SESSION, uep: 0.5 })),
    ).toBeNull();
    expect(await tokens.verify(await signRaw({ sub: "42", email: ann.email, ...session }))).toEqual(ann);
    const noExp = await new SignJWT({ sub: "42", email: ann.email, ...session })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    expect(await tokens.verify(noExp)).toBeNull();
  });

  test("garbage, empty and missing tokens are null", async () => {
    const { tokens } = tokensAt();
    for (const garbage of [
      undefined,
      "",
      "abc",
      "a.b.c",
      "..",
      "Bearer x",
      "eyJhbGciOiJIUzI1NiJ9..",
      "%%%.%%%.%%%",
    ]) {
      expect(await tokens.verify(garbage)).toBeNull();
    }
  });

  test("a token longer than 4096 characters is refused before any check", async () => {
    const { tokens } = tokensAt(Date.now());
    expect(await tokens.verify("a".repeat(4097))).toBeNull();
    const long = await tokens.sign({ ...ann, email: `${"a".repeat(4100)}@example.com` });
    expect(long.length).toBeGreaterThan(4096);
    expect(await tokens.verify(long)).toBeNull();
  });
});
