// Rate limits of the account endpoints, per account and per client address, on an api started with
// small limits. Every test uses its own emails and addresses, so the counters never collide.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testRedisUrl } from "../../dev/services.ts";
import { expectError } from "../support/assertions.ts";
import {
  Client,
  createActiveUser,
  loggedInClient,
  STRONG_PASSWORD,
  startTestApi,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";

const ACCOUNT_LIMIT = 3;
const IP_LIMIT = 5;

let api: TestApi;
beforeAll(async () => {
  const limits: Record<string, string> = {};
  for (const action of ["LOGIN", "REGISTER", "PASSWORD_RESET", "REFRESH"]) {
    limits[`RATE_LIMIT_${action}_ACCOUNT`] = `${ACCOUNT_LIMIT}/1m`;
    limits[`RATE_LIMIT_${action}_IP`] = `${IP_LIMIT}/1m`;
  }
  // A Redis database of its own, emptied first: the per-app PostgreSQL databases all number their
  // users from 1, so other files' refreshes would otherwise count against "account 1" here too.
  const redisUrl = new URL(await testRedisUrl());
  redisUrl.pathname = "/7";
  api = await startTestApi({ ...limits, REDIS_URL: redisUrl.toString() });
  await api.redis.flushdb();
});
afterAll(() => api.stop());

let nextAddress = 1;
/** A client address no other test uses (the harness's own clients live in 10.0.0.0/8). */
const freshIp = () => `192.0.2.${nextAddress++}`;

/** Asserts a 429 with a JSON {detail} and a Retry-After of at most the 1-minute window. */
async function expectLimited(response: Response) {
  const { body } = await expectError(response, 429);
  expect(body).toEqual({ detail: expect.any(String) });
  const retryAfter = response.headers.get("retry-after") ?? "";
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
}

/** Sends `send(i)` `limit` times expecting `allowed` statuses, then once more expecting a 429. */
async function exhaust(limit: number, send: (i: number) => Promise<Response>, allowed: number[]) {
  for (let i = 0; i < limit; i++) {
    const response = await send(i);
    expect(allowed).toContain(response.status);
  }
  await expectLimited(await send(limit));
}

const registration = (email: string) => ({
  email,
  password: STRONG_PASSWORD,
  confirmed_password: STRONG_PASSWORD,
});

describe("login", () => {
  test("per account: the same email from different addresses", async () => {
    const { email, password } = await createActiveUser(api);
    const attempt = () => new Client(api.url).post("/api/login/", { email, password: `${password}x` });
    await exhaust(ACCOUNT_LIMIT, attempt, [400]);
    // The right password does not get around the account's limit either.
    await expectLimited(await new Client(api.url).post("/api/login/", { email, password }));
  });

  test("per address: different emails from one address", async () => {
    const client = new Client(api.url);
    const attempt = () => client.post("/api/login/", { email: uniqueEmail(), password: STRONG_PASSWORD });
    await exhaust(IP_LIMIT, attempt, [400]);
  });
});

describe("register", () => {
  test("per account: the same email (in any letter case) from different addresses", async () => {
    const email = uniqueEmail("limited");
    const attempt = (i: number) =>
      new Client(api.url).post("/api/register/", registration(i % 2 ? email.toUpperCase() : email));
    await exhaust(ACCOUNT_LIMIT, attempt, [201]);
  });

  test("per address: different emails from one address", async () => {
    const client = new Client(api.url);
    await exhaust(IP_LIMIT, () => client.post("/api/register/", registration(uniqueEmail())), [201]);
  });
});

describe("password_reset", () => {
  test("per account: the same email from different addresses", async () => {
    const { email } = await createActiveUser(api);
    await exhaust(ACCOUNT_LIMIT, () => new Client(api.url).post("/api/password_reset/", { email }), [200]);
  });

  test("per address: different emails from one address", async () => {
    const client = new Client(api.url);
    await exhaust(IP_LIMIT, () => client.post("/api/password_reset/", { email: uniqueEmail() }), [200]);
  });
});

describe("token refresh", () => {
  test("per address: attempts without a valid token from one address", async () => {
    const client = new Client(api.url);
    await exhaust(IP_LIMIT, () => client.post("/api/token/refresh/"), [401]);
  });

  test("per account: one session refreshing from different addresses", async () => {
    const client = await loggedInClient(api);
    const refresh = () => client.post("/api/token/refresh/", undefined, { "x-forwarded-for": freshIp() });
    await exhaust(ACCOUNT_LIMIT, refresh, [200]);
  });

  test("a refresh refused by the limit does not cost the session its refresh token", async () => {
    const client = await loggedInClient(api);
    const refresh = () => client.post("/api/token/refresh/", undefined, { "x-forwarded-for": freshIp() });
    await exhaust(ACCOUNT_LIMIT, refresh, [200]);
    // The window ends (simulated by dropping the counters): the cookie the client holds still works.
    const keys = await api.redis.keys("vf:rl:refresh:*");
    if (keys.length > 0) await api.redis.del(...keys);
    expect((await refresh()).status).toBe(200);
    expect((await client.get("/api/me/")).status).toBe(200);
  });
});
