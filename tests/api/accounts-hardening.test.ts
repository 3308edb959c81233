// Account hardening: races and side channels of the account endpoints, against a real api.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { hashSecret } from "../../api/auth/secrets.ts";
import { refreshTokens, users } from "../../db/schema/index.ts";
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

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

/** A fresh browser holding only this refresh token (and a csrftoken to echo). */
function holding(refreshToken: string): Client {
  const client = new Client(api.url);
  client.cookies.set("refresh_token", refreshToken);
  client.cookies.set("csrftoken", "a-csrf-token-the-client-echoes");
  return client;
}

/** The rows of the refresh family a token belongs to. */
async function familyOf(refreshToken: string) {
  const [row] = await api.database.db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashSecret(refreshToken)));
  return api.database.db.select().from(refreshTokens).where(eq(refreshTokens.familyId, row!.familyId));
}

describe("parallel refreshes with one cookie (the grace window)", () => {
  test("all succeed with one and the same successor pair; one successor stored, no orphan (20 rounds)", async () => {
    // A user per round: the refreshes of one would soon meet its per-account limit.
    for (let round = 0; round < 20; round++) {
      const client = await loggedInClient(api);
      const cookie = client.cookies.get("refresh_token")!;
      const copies = Array.from({ length: 8 }, () => holding(cookie));
      const responses = await Promise.all(copies.map((copy) => copy.post("/api/token/refresh/")));
      expect(responses.map((response) => response.status)).toEqual(copies.map(() => 200));
      const successors = new Set(copies.map((copy) => copy.cookies.get("refresh_token")));
      const accessTokens = new Set(copies.map((copy) => copy.cookies.get("access_token")));
      expect(successors.size).toBe(1);
      expect(accessTokens.size).toBe(1);
      const [successor] = successors;
      expect(successor).not.toBe(cookie);
      // The login's token, rotated, and the one successor: nothing revoked, nothing else stored.
      const rows = await familyOf(cookie);
      expect(rows).toHaveLength(2);
      expect(rows.filter((row) => row.revokedAt !== null)).toEqual([]);
      expect(rows.find((row) => row.tokenHash === hashSecret(successor!))?.rotatedAt).toBeNull();
      expect((await copies[0]!.get("/api/me/")).status).toBe(200);
      expect((await copies.at(-1)!.post("/api/token/refresh/")).status).toBe(200);
    }
  }, 120_000);

  test("the rotated token presented again after the window revokes the family", async () => {
    const client = await loggedInClient(api);
    const first = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const successor = client.cookies.get("refresh_token")!;
    // Within the window: the same successor again.
    const repeat = holding(first);
    expect((await repeat.post("/api/token/refresh/")).status).toBe(200);
    expect(repeat.cookies.get("refresh_token")).toBe(successor);

    await api.endGraceWindows();
    await expectError(await holding(first).post("/api/token/refresh/"), 401);
    const rows = await familyOf(first);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.revokedAt !== null)).toBe(true);
    await expectError(await client.post("/api/token/refresh/"), 401);
    await expectError(await client.get("/api/me/"), 401);
  }, 30_000);

  test("a slow repeat of A after A to B to C gets C, the pair C's own rotation produced; the family lives", async () => {
    const client = await loggedInClient(api);
    const first = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const second = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const third = client.cookies.get("refresh_token")!;
    expect(new Set([first, second, third]).size).toBe(3);

    const slow = holding(first);
    expect((await slow.post("/api/token/refresh/")).status).toBe(200);
    expect(slow.cookies.get("refresh_token")).toBe(third);
    expect(slow.cookies.get("access_token")).toBe(client.cookies.get("access_token")!);
    const rows = await familyOf(first);
    expect(rows).toHaveLength(3);
    expect(rows.filter((row) => row.revokedAt !== null)).toEqual([]);
    // Whichever Set-Cookie landed last, the client's next refresh (once every window has passed) works.
    await api.endGraceWindows();
    expect((await slow.post("/api/token/refresh/")).status).toBe(200);
    expect((await slow.get("/api/me/")).status).toBe(200);
  }, 30_000);

  test("a repeat whose successor was rotated out of its window is a plain 401: the family lives", async () => {
    const client = await loggedInClient(api);
    const first = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const second = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    // The successor's rotation long ago, the first token's within its window (what clocks allow).
    await api.database.db
      .update(refreshTokens)
      .set({ rotatedAt: sql`now() - interval '1 hour'` })
      .where(eq(refreshTokens.tokenHash, hashSecret(second)));
    await expectError(await holding(first).post("/api/token/refresh/"), 401);
    expect((await familyOf(first)).filter((row) => row.revokedAt !== null)).toEqual([]);
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    expect((await client.get("/api/me/")).status).toBe(200);
  }, 30_000);

  test("a rotation forgets the sealed successors whose window has passed", async () => {
    const client = await loggedInClient(api);
    const first = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    await api.endGraceWindows();
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const rows = await familyOf(first);
    const firstRow = rows.find((row) => row.tokenHash === hashSecret(first))!;
    expect(firstRow.rotatedAt).not.toBeNull();
    expect(firstRow.successorSealed).toBeNull();
    // The rotation just made keeps its own, for its window.
    expect(rows.filter((row) => row.successorSealed !== null)).toHaveLength(1);
  }, 30_000);

  test("a refresh racing a logout leaves no successor alive", async () => {
    for (let round = 0; round < 6; round++) {
      const client = await loggedInClient(api);
      const cookie = client.cookies.get("refresh_token")!;
      const [refresher, leaver] = [holding(cookie), holding(cookie)];
      const [refreshed] = await Promise.all([
        refresher.post("/api/token/refresh/"),
        leaver.post("/api/logout/"),
      ]);
      if (refreshed.status !== 200) continue; // the logout came first: nothing was issued
      // A successor stored while the logout revoked the family must not outlive it.
      await expectError(await refresher.get("/api/me/"), 401);
      await expectError(await refresher.post("/api/token/refresh/"), 401);
    }
  }, 60_000);
});

describe("the per-account login limit counts failures", () => {
  test("successful logins in a row are never limited; failures still are", async () => {
    const { email, password } = await createActiveUser(api);
    // Each client comes from its own address, so only the account's limit applies.
    const limit = api.config.rateLimits.login.account.limit;
    for (let i = 0; i < limit + 3; i++) {
      const response = await new Client(api.url).post("/api/login/", { email, password });
      expect(response.status).toBe(200);
    }
    for (let i = 0; i < limit; i++) {
      const response = await new Client(api.url).post("/api/login/", { email, password: `${password}x` });
      expect(response.status).toBe(400);
    }
    await expectError(await new Client(api.url).post("/api/login/", { email, password }), 429);
  }, 30_000);
});

describe("a password reset for a known address", () => {
  test("answers before the reset token is written, and the mail follows", async () => {
    const { email } = await createActiveUser(api);
    // Hold a lock that blocks every write to one_time_tokens (reads still pass) until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = api.database.db.transaction(async (tx) => {
      await tx.execute(sql`LOCK TABLE one_time_tokens IN EXCLUSIVE MODE`);
      locked();
      await released;
    });
    await isLocked;
    try {
      const answer = new Client(api.url).post("/api/password_reset/", { email });
      const waited = new Promise<"blocked">((resolve) => setTimeout(() => resolve("blocked"), 5_000));
      const first = await Promise.race([answer.then((response) => response.status), waited]);
      expect(first).toBe(200);
    } finally {
      release();
      await holder;
    }
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && /reset/i.test(m.subject));
    expect(mail.links.some((link) => link.includes("uid="))).toBe(true);
  }, 30_000);
});

describe("one canonical form of an address", () => {
  const registration = (email: string) => ({
    email,
    password: STRONG_PASSWORD,
    confirmed_password: STRONG_PASSWORD,
  });

  test("comments, lists and quoted local parts are not addresses", async () => {
    const victim = uniqueEmail("victim");
    for (const email of [
      `(x)${victim}`,
      `a,${victim}`,
      `"a b"@example.com`,
      `a@b@example.com`,
      `${victim}(x)`,
    ]) {
      const { body } = await expectError(
        await new Client(api.url).post("/api/register/", registration(email)),
        400,
      );
      expect(Object.keys(body)).toContain("email");
      await expectError(await new Client(api.url).post("/api/password_reset/", { email }), 400);
    }
  });

  test("case and Unicode compatibility variants are one account and share its rate limit", async () => {
    const local = `variant${crypto.randomUUID().slice(0, 8)}`;
    const { email, password } = await createActiveUser(api, `${local}@example.com`);
    // Full-width letters (NFKC folds them) and upper case: the same account.
    const fullWidth = `${String.fromCodePoint(0xff56)}${local.slice(1)}@ＥＸＡＭＰＬＥ.com`;
    const variants = [email.toUpperCase(), fullWidth, ` ${email} `];
    for (const variant of variants) {
      expect((await new Client(api.url).post("/api/login/", { email: variant, password })).status).toBe(200);
    }
    // Registering a variant is "already registered": the owner gets the notice, no second account.
    expect((await new Client(api.url).post("/api/register/", registration(fullWidth))).status).toBe(201);
    await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject === "Your Videoflix account");
    const rows = await api.database.db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);

    // Failures under every variant count against one limit.
    const limit = api.config.rateLimits.login.account.limit;
    for (let i = 0; i < limit; i++) {
      const variant = [email, ...variants][i % (variants.length + 1)]!;
      const response = await new Client(api.url).post("/api/login/", { email: variant, password: "wrong" });
      expect(response.status).toBe(400);
    }
    await expectError(await new Client(api.url).post("/api/login/", { email: fullWidth, password }), 429);
  }, 30_000);

  test("a dotted capital I is not another spelling of i", async () => {
    const { email, password } = await createActiveUser(
      api,
      `viewer${crypto.randomUUID().slice(0, 8)}@example.com`,
    );
    const dotted = email.replace("i", "İ");
    await expectError(await new Client(api.url).post("/api/login/", { email: dotted, password }), 400);
    await expectError(await new Client(api.url).post("/api/register/", registration(dotted)), 400);
  });

  test("an address is stored, and mailed to, in its canonical form", async () => {
    const local = `stored${crypto.randomUUID().slice(0, 8)}`;
    const typed = `${local.toUpperCase()}@ＥＸＡＭＰＬＥ.COM`;
    expect((await new Client(api.url).post("/api/register/", registration(typed))).status).toBe(201);
    const canonical = `${local}@example.com`;
    const mail = await api.smtp.waitForMail((m) => m.to.includes(canonical));
    expect(mail.subject).toContain("Activate");
    const rows = await api.database.db
      .select({ email: users.email })
      .from(users)
      .where(eq(users.email, canonical));
    expect(rows).toEqual([{ email: canonical }]);
  });
});

test("the migration rewrites earlier addresses to their canonical form, unless one is taken", async () => {
  const { db } = api.database;
  const local = `earlier${crypto.randomUUID().slice(0, 8)}`;
  const typed = `${local.toUpperCase()}@ＥＸＡＭＰＬＥ.com`;
  const [row] = await db
    .insert(users)
    .values({ email: typed, passwordHash: "x" })
    .returning({ id: users.id });
  const file = new URL("../../db/migrations/0004_canonical-emails.sql", import.meta.url);
  await db.execute(sql.raw(await Bun.file(file).text()));
  const [after] = await db.select({ email: users.email }).from(users).where(eq(users.id, row!.id));
  expect(after!.email).toBe(`${local}@example.com`);
});
