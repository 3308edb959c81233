// Attacks on the account endpoints: forged access tokens, cross-site requests, CORS and account
// enumeration. Rate limits and hostile bodies are in accounts-rate-limits / accounts-bad-input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt, SignJWT } from "jose";
import { expectError } from "../support/assertions.ts";
import {
  Client,
  createActiveUser,
  loggedInClient,
  STRONG_PASSWORD,
  startTestApi,
  TEST_JWT_SECRET,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const FRONTEND = "http://frontend.test";
const EVIL = "http://evil.test";
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** GET /api/me/ with exactly this access token. */
function meWith(token: string): Promise<Response> {
  const client = new Client(api.url);
  client.cookies.set("access_token", token);
  return client.get("/api/me/");
}

/** Replaces the character in the middle of `part` by another one, so the decoded bytes change. */
function flipMiddle(part: string): string {
  const at = Math.floor(part.length / 2);
  const replacement = part[at] === "A" ? "B" : "A";
  return `${part.slice(0, at)}${replacement}${part.slice(at + 1)}`;
}

async function signed(claims: Record<string, unknown>, secret = TEST_JWT_SECRET, alg = "HS256") {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

describe("access token attacks on GET /api/me/", () => {
  let user: { id: number; email: string };
  let token: string;
  beforeAll(async () => {
    const client = await loggedInClient(api);
    token = client.cookies.get("access_token")!;
    user = (await (await client.get("/api/me/")).json()) as { id: number; email: string };
  });
  // The session claims (`sid`, `uep`) of the issued token: without them a token cannot be revoked.
  const claims = (extra: Record<string, unknown> = {}) => ({
    sub: String(user.id),
    email: user.email,
    exp: nowSeconds() + 600,
    sid: decodeJwt(token).sid,
    uep: decodeJwt(token).uep,
    ...extra,
  });

  test("controls: the issued token and a token we sign with the api's secret are accepted", async () => {
    expect((await meWith(token)).status).toBe(200);
    expect((await meWith(await signed(claims()))).status).toBe(200);
  });

  test("a flipped character in the payload or the signature → 401", async () => {
    const [header, payload, signature] = token.split(".") as [string, string, string];
    await expectError(await meWith(`${header}.${flipMiddle(payload)}.${signature}`), 401);
    await expectError(await meWith(`${header}.${payload}.${flipMiddle(signature)}`), 401);
  });

  test("a rewritten payload (another user, admin) under the original signature → 401", async () => {
    const [header, , signature] = token.split(".") as [string, string, string];
    const forged = b64({ ...claims(), sub: "1", adm: true });
    await expectError(await meWith(`${header}.${forged}.${signature}`), 401);
  });

  test("an expired token → 401", async () => {
    const expired = await signed(claims({ iat: nowSeconds() - 3600, exp: nowSeconds() - 60 }));
    await expectError(await meWith(expired), 401);
  });

  test("alg none (unsigned, admin claim) → 401", async () => {
    const payload = b64({ ...claims(), adm: true });
    for (const alg of ["none", "None", "NONE"]) {
      await expectError(await meWith(`${b64({ alg, typ: "JWT" })}.${payload}.`), 401);
    }
  });

  test("signed with another secret, or with another algorithm → 401", async () => {
    await expectError(
      await meWith(await signed(claims(), "another-secret-that-is-long-enough-0123456789")),
      401,
    );
    await expectError(await meWith(await signed(claims(), TEST_JWT_SECRET, "HS512")), 401);
  });

  test("garbage and oversized tokens → 401", async () => {
    for (const garbage of ["", "abc", "a.b.c", "..", `${token}.extra`, "x".repeat(8000)]) {
      await expectError(await meWith(garbage), 401);
    }
  });

  test("the issued token stops working 30 minutes later; refresh gets a working one", async () => {
    const client = await loggedInClient(api);
    expect((await client.get("/api/me/")).status).toBe(200);
    api.shiftClock(30 * 60 + 5);
    await expectError(await client.get("/api/me/"), 401);
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    expect((await client.get("/api/me/")).status).toBe(200);
  });
});

describe("CSRF", () => {
  test("a signed-in POST without X-CSRFToken → 403, and nothing happens", async () => {
    const client = await loggedInClient(api);
    client.sendCsrfHeader = false;
    await expectError(await client.post("/api/logout/"), 403);
    await expectError(await client.post("/api/token/refresh/"), 403);
    client.sendCsrfHeader = true;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
  });

  test("a signed-in POST with a wrong X-CSRFToken → 403", async () => {
    const client = await loggedInClient(api);
    const csrf = client.cookies.get("csrftoken")!;
    for (const wrong of ["wrong", `${csrf}x`, csrf.slice(1), ""]) {
      await expectError(await client.post("/api/logout/", undefined, { "x-csrftoken": wrong }), 403);
    }
    expect((await client.post("/api/logout/")).status).toBe(200);
  });

  test("a POST from a foreign Origin → 403 even without cookies", async () => {
    const email = uniqueEmail("csrf");
    for (const origin of [EVIL, "null", `${FRONTEND}.evil.test`, "https://frontend.test"]) {
      const client = new Client(api.url, origin);
      await expectError(await client.post("/api/password_reset/", { email }), 403);
      const body = { email, password: STRONG_PASSWORD, confirmed_password: STRONG_PASSWORD };
      await expectError(await client.post("/api/register/", body), 403);
    }
    // The refused requests did nothing: no activation or reset mail went out.
    expect(api.smtp.mails.filter((m) => m.to.includes(email))).toEqual([]);
  });

  test("the frontend's Origin and the api's own origin pass", async () => {
    for (const origin of [FRONTEND, api.url]) {
      const { email, password } = await createActiveUser(api);
      const client = new Client(api.url, origin);
      expect((await client.post("/api/password_reset/", { email })).status).toBe(200);
      expect((await client.post("/api/login/", { email, password })).status).toBe(200);
      expect((await client.post("/api/token/refresh/")).status).toBe(200);
      expect((await client.post("/api/logout/")).status).toBe(200);
    }
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    fetch(`${api.url}/api/login/`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-csrftoken",
      },
    });

  test("a preflight from the frontend → 204 allowing its origin, credentials and our headers", async () => {
    const response = await preflight(FRONTEND);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(FRONTEND);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(["content-type", "x-csrftoken"]));
    expect((response.headers.get("access-control-allow-methods") ?? "").split(/,\s*/)).toContain("POST");
  });

  test("a preflight or a request from a foreign origin gets no Access-Control-Allow-Origin", async () => {
    const response = await preflight(EVIL);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const get = await new Client(api.url, EVIL).get("/api/me/");
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("an actual request from the frontend echoes its origin with credentials", async () => {
    const response = await new Client(api.url, FRONTEND).get("/api/me/");
    expect(response.headers.get("access-control-allow-origin")).toBe(FRONTEND);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
  });
});

describe("account enumeration", () => {
  test("register: a known and an unknown email get the same status and byte-identical body", async () => {
    const { email } = await createActiveUser(api);
    const answers: Response[] = [];
    for (const address of [uniqueEmail("unknown"), email]) {
      const body = { email: address, password: STRONG_PASSWORD, confirmed_password: STRONG_PASSWORD };
      answers.push(await new Client(api.url).post("/api/register/", body));
    }
    const [unknown, known] = answers as [Response, Response];
    expect(known.status).toBe(unknown.status);
    expect(await known.text()).toBe(await unknown.text());
  });

  test("password_reset: a known and an unknown email get the same status and byte-identical body", async () => {
    const { email } = await createActiveUser(api);
    const known = await new Client(api.url).post("/api/password_reset/", { email });
    const unknown = await new Client(api.url).post("/api/password_reset/", { email: uniqueEmail("nobody") });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(await known.text()).toBe(await unknown.text());
  });

  test("login: unknown email, wrong password and inactive account are indistinguishable", async () => {
    const { email } = await createActiveUser(api);
    const inactive = uniqueEmail("inactive");
    const body = { email: inactive, password: STRONG_PASSWORD, confirmed_password: STRONG_PASSWORD };
    expect((await new Client(api.url).post("/api/register/", body)).status).toBe(201);
    const answers = new Set<string>();
    for (const attempt of [
      { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
      { email, password: "violet-Harbour-42-lanterns" },
      { email: inactive, password: STRONG_PASSWORD },
    ]) {
      const { text } = await expectError(await new Client(api.url).post("/api/login/", attempt), 400);
      answers.add(text);
    }
    expect(answers.size).toBe(1);
  });
});
