// Revoking sessions before their access tokens expire, across two replicas that share one Redis and
// one database: logout, password reset, deactivation and an admin's revocation refuse the old access
// token on both replicas at once (even where it sat in the verified cache) and close its WebSockets;
// the sessions endpoints list and end the caller's own sessions, and nobody else's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { CloseCodes } from "../../api/realtime/model.ts";
import { users } from "../../db/schema/index.ts";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { expectError, linkParts, linkStartingWith, RESET_PREFIX } from "../support/assertions.ts";
import { eventually } from "../support/eventually.ts";
import {
  Client,
  createActiveUser,
  STRONG_PASSWORD,
  startTestApi,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";
import { TestSocket } from "../support/test-socket.ts";

let apiA: TestApi;
let apiB: TestApi;
let admin: Client;

beforeAll(async () => {
  apiA = await startTestApi(ADMIN_ENV);
  [apiB, admin] = await Promise.all([
    startTestApi({}, { shareWith: apiA, consumeEvents: false }),
    adminClient(apiA),
  ]);
});

afterAll(async () => {
  TestSocket.closeAll();
  await apiB?.stop();
  await apiA?.stop();
});

const NEW_PASSWORD = "a-Completely-new-passphrase-7";

interface Device {
  email: string;
  /** The browser, talking to replica A. */
  client: Client;
  /** The same cookies as they were at login, talking to replica B. */
  onB: Client;
  /** The access token at login (a copy that logout's cleared cookie does not touch). */
  accessToken: string;
  userId: number;
}

/** The same browser's cookies, sent to another replica. */
function copyTo(api: TestApi, client: Client): Client {
  const copy = new Client(api.url);
  for (const [name, value] of client.cookies) copy.cookies.set(name, value);
  return copy;
}

/** A login of `email` on replica A, with its token already cached by both replicas. */
async function login(
  email: string,
  password = STRONG_PASSWORD,
  userAgent = "test-browser/1.0",
): Promise<Device> {
  const client = new Client(apiA.url);
  const response = await client.post("/api/login/", { email, password }, { "user-agent": userAgent });
  expect(response.status).toBe(200);
  const { user } = (await response.json()) as { user: { id: number } };
  const onB = copyTo(apiB, client);
  // Both replicas verify the token once, so the checks below meet the cache's fast path.
  expect((await client.get("/api/me/")).status).toBe(200);
  expect((await onB.get("/api/me/")).status).toBe(200);
  return { email, client, onB, accessToken: client.cookies.get("access_token")!, userId: user.id };
}

/** GET /api/me/ on a replica with exactly this access token. */
function meWith(api: TestApi, accessToken: string): Promise<Response> {
  return fetch(`${api.url}/api/me/`, { headers: { cookie: `access_token=${accessToken}` } });
}

/** Both replicas' answers to the token, asked at the same moment. */
async function statusesOn(accessToken: string): Promise<[number, number]> {
  const [a, b] = await Promise.all([meWith(apiA, accessToken), meWith(apiB, accessToken)]);
  return [a.status, b.status];
}

/**
 * Refused on both replicas: the replica that revoked applies it before it answers, the other one as soon
 * as the event bus delivers it (pub/sub, milliseconds; the poll only absorbs a loaded machine's delay).
 */
async function expectRefused(accessToken: string): Promise<void> {
  const refused = await eventually(
    "the token refused on both replicas",
    async () => {
      const statuses = await statusesOn(accessToken);
      return statuses[0] === 401 && statuses[1] === 401 ? statuses : null;
    },
    2000,
    5,
  );
  expect(refused).toEqual([401, 401]);
}

/** Sockets of the device on both replicas. */
async function socketsOf(device: Device): Promise<[TestSocket, TestSocket]> {
  return Promise.all([TestSocket.open(apiA, device.client), TestSocket.open(apiB, device.onB)]);
}

async function expectRevoked(sockets: TestSocket[]): Promise<void> {
  for (const socket of sockets) {
    expect(await socket.waitClosed()).toEqual({ code: CloseCodes.sessionRevoked, reason: "session revoked" });
  }
}

async function expectOpen(socket: TestSocket): Promise<void> {
  socket.send({ type: "ping" });
  await socket.next((m) => m.type === "pong");
  expect(socket.closed).toBeNull();
}

/** How many Cookie headers each replica's access-token cache holds (each holds the refresh and CSRF cookies). */
const headersIndexed = () =>
  [apiA, apiB].map((api) => api.runtime.services.accessTokens.cookieHeadersIndexed);

/** A second request of the device on each replica: a header is indexed once its token hit the cache. */
async function meAgain(device: Device): Promise<void> {
  expect((await device.client.get("/api/me/")).status).toBe(200);
  expect((await device.onB.get("/api/me/")).status).toBe(200);
}

/** Both replicas' header indexes back at `counts`: A's at once (it revoked), B's once the bus delivered. */
async function expectHeadersIndexed(counts: number[]): Promise<void> {
  expect(headersIndexed()[0]).toBe(counts[0]!);
  const heard = await eventually(
    "replica B forgot the headers",
    async () => headersIndexed()[1] === counts[1],
    2000,
    5,
  );
  expect(heard).toBe(true);
}

async function newUser(): Promise<string> {
  return (await createActiveUser(apiA, uniqueEmail("revoke"))).email;
}

describe("logout", () => {
  test("the session's access token is refused on both replicas at once; its sockets close, others stay", async () => {
    const email = await newUser();
    const [phone, laptop] = [await login(email), await login(email)];
    const phoneSockets = await socketsOf(phone);
    const [, laptopOnB] = await socketsOf(laptop);

    expect((await phone.client.post("/api/logout/")).status).toBe(200);
    await expectRefused(phone.accessToken);
    await expectRevoked(phoneSockets);
    // The user's other session is not touched.
    expect(await statusesOn(laptop.accessToken)).toEqual([200, 200]);
    await expectOpen(laptopOnB);
  });

  test("no Cookie header of the session stays in either replica's cache, though none is sent again", async () => {
    const email = await newUser();
    const before = headersIndexed();
    const device = await login(email);
    await meAgain(device);
    expect(headersIndexed()).toEqual([before[0]! + 1, before[1]! + 1]);
    expect((await device.client.post("/api/logout/")).status).toBe(200);
    await expectHeadersIndexed(before);
  });

  test("with only the access token (no refresh cookie) it still ends that session", async () => {
    const device = await login(await newUser());
    device.onB.cookies.delete("refresh_token");
    expect((await device.onB.post("/api/logout/")).status).toBe(200);
    await expectRefused(device.accessToken);
    await expectError(await device.client.post("/api/token/refresh/"), 401);
  });
});

describe("password reset", () => {
  test("every session's access token is refused on both replicas; sockets close; a new login works", async () => {
    const email = await newUser();
    const [phone, laptop] = [await login(email), await login(email)];
    const sockets = [...(await socketsOf(phone)), ...(await socketsOf(laptop))];

    expect((await new Client(apiA.url).post("/api/password_reset/", { email })).status).toBe(200);
    const mail = await apiA.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    const { uid, token } = linkParts(linkStartingWith(mail, RESET_PREFIX));
    const confirmed = await new Client(apiB.url).post(`/api/password_confirm/${uid}/${token}/`, {
      new_password: NEW_PASSWORD,
      confirm_password: NEW_PASSWORD,
    });
    expect(confirmed.status).toBe(200);

    await expectRefused(phone.accessToken);
    await expectRefused(laptop.accessToken);
    await expectRevoked(sockets);
    // Signed under the raised epoch, a new session is valid everywhere.
    const fresh = await login(email, NEW_PASSWORD);
    expect(await statusesOn(fresh.accessToken)).toEqual([200, 200]);
  });
});

describe("admin: deactivation and revoking all sessions", () => {
  const setActive = (client: Client, userId: number, active: boolean) =>
    client.request("PATCH", `/api/admin/users/${userId}`, { is_active: active });

  test("deactivation refuses the tokens on both replicas and closes the sockets; reactivation lets in again", async () => {
    const email = await newUser();
    const device = await login(email);
    const sockets = await socketsOf(device);

    const response = await setActive(admin, device.userId, false);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: device.userId, email, is_active: false });
    await expectRefused(device.accessToken);
    await expectRevoked(sockets);
    await expectError(await device.client.post("/api/token/refresh/"), 401);
    await expectError(
      await new Client(apiB.url).post("/api/login/", { email, password: STRONG_PASSWORD }),
      400,
    );

    expect((await setActive(admin, device.userId, true)).status).toBe(200);
    const again = await login(email);
    expect(await statusesOn(again.accessToken)).toEqual([200, 200]);
  });

  test("revoking all sessions of a user ends every one of them on both replicas", async () => {
    const email = await newUser();
    const [phone, laptop] = [await login(email), await login(email)];
    const sockets = [...(await socketsOf(phone)), ...(await socketsOf(laptop))];
    const bystander = await login(await newUser());

    const response = await admin.request("DELETE", `/api/admin/users/${phone.userId}/sessions`);
    expect(response.status).toBe(204);
    await expectRefused(phone.accessToken);
    await expectRefused(laptop.accessToken);
    await expectRevoked(sockets);
    await expectError(await laptop.client.post("/api/token/refresh/"), 401);
    expect(await statusesOn(bystander.accessToken)).toEqual([200, 200]);
    // The account itself stays usable.
    const again = await login(email);
    expect(await statusesOn(again.accessToken)).toEqual([200, 200]);
  });

  test("revoking all sessions leaves none of their Cookie headers in either replica's cache", async () => {
    const email = await newUser();
    for (let i = 0; i < 2; i++) expect((await admin.get("/api/me/")).status).toBe(200); // its own, indexed
    const before = headersIndexed();
    const [phone, laptop] = [await login(email), await login(email)];
    await Promise.all([meAgain(phone), meAgain(laptop)]);
    expect(headersIndexed()).toEqual([before[0]! + 2, before[1]! + 2]);
    expect((await admin.request("DELETE", `/api/admin/users/${phone.userId}/sessions`)).status).toBe(204);
    await expectHeadersIndexed(before);
  });

  test("admins only, CSRF-checked, 404 for an unknown user", async () => {
    const victim = await login(await newUser());
    const viewer = await login(await newUser());
    await expectError(
      await viewer.client.request("DELETE", `/api/admin/users/${victim.userId}/sessions`),
      403,
    );
    await expectError(await setActive(viewer.client, victim.userId, false), 403);
    await expectError(
      await new Client(apiA.url).request("DELETE", `/api/admin/users/${victim.userId}/sessions`),
      401,
    );
    // A forged cross-site request carries the admin's cookies but cannot echo the csrftoken.
    const forged = await admin.request("DELETE", `/api/admin/users/${victim.userId}/sessions`, undefined, {
      "x-csrftoken": "not-the-cookie",
    });
    await expectError(forged, 403);
    expect(await statusesOn(victim.accessToken)).toEqual([200, 200]);
    await expectError(await admin.request("DELETE", "/api/admin/users/2147483647/sessions"), 404);
    await expectError(await setActive(admin, 2147483647, false), 404);
    await expectError(
      await admin.request("PATCH", `/api/admin/users/${victim.userId}`, { is_staff: true }),
      400,
    );
  });
});

describe("GET /api/sessions/ and DELETE /api/sessions/:id", () => {
  interface ListedSession {
    id: string;
    created_at: string;
    last_used_at: string;
    user_agent: string | null;
    ip: string | null;
    current: boolean;
  }
  const listOf = async (client: Client) => {
    const response = await client.get("/api/sessions/");
    expect(response.status).toBe(200);
    return (await response.json()) as ListedSession[];
  };

  test("lists the caller's live sessions with where they come from, marking the current one", async () => {
    const email = await newUser();
    const phone = await login(email, STRONG_PASSWORD, "phone-browser/2.0");
    const laptop = await login(email, STRONG_PASSWORD, "laptop-browser/3.0");
    const other = await login(await newUser());

    const listed = await listOf(phone.client);
    expect(listed).toHaveLength(2);
    const byAgent = Object.fromEntries(listed.map((session) => [session.user_agent, session]));
    expect(byAgent["phone-browser/2.0"]).toMatchObject({ current: true, ip: phone.client.ip });
    expect(byAgent["laptop-browser/3.0"]).toMatchObject({ current: false, ip: laptop.client.ip });
    for (const session of listed) {
      expect(Date.parse(session.last_used_at)).toBeGreaterThanOrEqual(Date.parse(session.created_at));
    }
    expect((await listOf(other.client)).map((session) => session.id)).not.toContain(listed[0]!.id);

    // A refresh keeps the session (same id), recording when and from where it was last used.
    const phoneId = byAgent["phone-browser/2.0"]!.id;
    const refreshed = await phone.client.post("/api/token/refresh/", undefined, {
      "user-agent": "phone-browser/2.1",
    });
    expect(refreshed.status).toBe(200);
    const after = (await listOf(phone.client)).find((session) => session.id === phoneId)!;
    expect(after).toMatchObject({ current: true, user_agent: "phone-browser/2.1" });
    // A session that ended is no longer listed.
    expect((await laptop.client.post("/api/logout/")).status).toBe(200);
    expect((await listOf(phone.client)).map((session) => session.id)).toEqual([phoneId]);
  });

  test("DELETE ends one of the caller's sessions on both replicas; the others go on", async () => {
    const email = await newUser();
    const [phone, laptop] = [await login(email), await login(email)];
    const laptopSockets = await socketsOf(laptop);
    const laptopId = (await listOf(phone.client)).find((session) => !session.current)!.id;

    const response = await phone.onB.request("DELETE", `/api/sessions/${laptopId}`);
    expect(response.status).toBe(204);
    await expectRefused(laptop.accessToken);
    await expectRevoked(laptopSockets);
    await expectError(await laptop.client.post("/api/token/refresh/"), 401);
    expect(await statusesOn(phone.accessToken)).toEqual([200, 200]);
    expect((await listOf(phone.client)).map((session) => session.current)).toEqual([true]);
  });

  test("another user's session id is a 404 and stays alive (no IDOR); bad ids are refused", async () => {
    const victim = await login(await newUser());
    const attacker = await login(await newUser());
    const victimId = (await listOf(victim.client))[0]!.id;

    await expectError(await attacker.client.request("DELETE", `/api/sessions/${victimId}`), 404);
    await expectError(await attacker.client.request("DELETE", `/api/sessions/${crypto.randomUUID()}`), 404);
    expect(await statusesOn(victim.accessToken)).toEqual([200, 200]);
    expect((await victim.client.post("/api/token/refresh/")).status).toBe(200);

    await expectError(await attacker.client.request("DELETE", "/api/sessions/not-a-uuid"), 400);
    await expectError(await attacker.client.request("DELETE", "/api/sessions/1%27%20or%201=1"), 400);
    await expectError(await new Client(apiA.url).get("/api/sessions/"), 401);
    await expectError(await new Client(apiA.url).request("DELETE", `/api/sessions/${victimId}`), 401);
  });
});

describe("after Redis lost its copies", () => {
  test("a replica that never heard of a revocation refuses the token from the database", async () => {
    const email = await newUser();
    const [revoked, reset, live] = [await login(email), await login(await newUser()), await login(email)];
    const revokedId = (await (await revoked.client.get("/api/sessions/")).json()) as {
      current: boolean;
      id: string;
    }[];
    const sessionId = revokedId.find((session) => session.current)!.id;
    expect((await revoked.client.request("DELETE", `/api/sessions/${sessionId}`)).status).toBe(204);
    expect((await admin.request("DELETE", `/api/admin/users/${reset.userId}/sessions`)).status).toBe(204);

    // What a Redis restart leaves: none of the epoch copies (only this test api's own keys are touched).
    const keys = await apiA.redis.keys("vf:auth:epoch:*");
    if (keys.length > 0) await apiA.redis.del(...keys);
    const apiC = await startTestApi({}, { shareWith: apiA, consumeEvents: false });
    try {
      expect((await meWith(apiC, revoked.accessToken)).status).toBe(401);
      expect((await meWith(apiC, reset.accessToken)).status).toBe(401);
      expect((await meWith(apiC, live.accessToken)).status).toBe(200);
    } finally {
      await apiC.stop();
    }
  }, 60_000);
});

describe("a gap in the replicas' subscriptions", () => {
  test("a socket whose session was revoked unheard is closed (4003) once its replica is subscribed again", async () => {
    const [revoked, live] = [await login(await newUser()), await login(await newUser())];
    const revokedSockets = await socketsOf(revoked);
    const liveSockets = await socketsOf(live);
    // What a revocation made during the gap leaves: the database holds it, no replica heard it, and no
    // Redis copy says so.
    await apiA.database.db
      .update(users)
      .set({ sessionEpoch: sql`${users.sessionEpoch} + 1` })
      .where(eq(users.id, revoked.userId));
    await apiA.redis.del(`vf:auth:epoch:user:${revoked.userId}`);
    // Both replicas' subscribers drop and reconnect (this test process's own Redis).
    await apiA.redis.call("CLIENT", "KILL", "TYPE", "pubsub");
    await expectRevoked(revokedSockets);
    for (const socket of liveSockets) await expectOpen(socket);
  });
});

describe("a revocation whose announcement never came", () => {
  test("closes the socket at the next periodic check, and the cached token is refused after one", async () => {
    // A replica that re-checks every 200 ms, so that the test need not wait the default minute.
    const apiC = await startTestApi({}, { shareWith: apiA, consumeEvents: false, revocationRecheckMs: 200 });
    try {
      const device = await login(await newUser());
      const onC = copyTo(apiC, device.client);
      expect((await onC.get("/api/me/")).status).toBe(200);
      const socket = await TestSocket.open(apiC, onC);
      // The announcing replica died after committing: the database holds it, nobody heard, no copy.
      await apiA.database.db
        .update(users)
        .set({ sessionEpoch: sql`${users.sessionEpoch} + 1` })
        .where(eq(users.id, device.userId));
      await apiA.redis.del(`vf:auth:epoch:user:${device.userId}`);
      await expectRevoked([socket]);
      expect((await meWith(apiC, device.accessToken)).status).toBe(401);
    } finally {
      await apiC.stop();
    }
  }, 60_000);
});
