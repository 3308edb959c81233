// The djoser dialect end to end on the real api (PostgreSQL, Redis, SMTP capture): a user's journey
// as its frontend walks it, and the attacks that apply to its Bearer tokens and to the shared
// CSRF and CORS plumbing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema/index.ts";
import { setAccountActive } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { endDialectSessionFromCourse, journeyVideo, startCompatApi } from "../support/compat.ts";
import { DJOSER_ENV, DJOSER_FRONTEND, DjoserClient, djoserLinkParts, djoserUser } from "../support/djoser.ts";
import { Client, loggedInClient, STRONG_PASSWORD, type TestApi, uniqueEmail } from "../support/test-api.ts";

let api: TestApi;
let videoId: number;

beforeAll(async () => {
  api = await startCompatApi(DJOSER_ENV);
  videoId = await journeyVideo(api, "Documentary");
}, 30_000);
afterAll(() => api?.stop());

const NEW_PASSWORD = "a-Completely-new-passphrase-7";
const NO_ACTIVE_ACCOUNT = {
  detail: "No active account found with the given credentials",
  code: "no_active_account",
};

async function userIdOf(email: string): Promise<number> {
  const [row] = await api.database.db.select({ id: users.id }).from(users).where(eq(users.email, email));
  return row!.id;
}

test("register → mail → activate → login → list → progress → reset → login with the new password", async () => {
  const email = uniqueEmail("djoser-journey");
  const browser = new DjoserClient(api);

  const registered = await browser.post("/auth/users/", {
    email,
    password: STRONG_PASSWORD,
    re_password: STRONG_PASSWORD,
  });
  expect(registered.status).toBe(201);
  const activationMail = await api.smtp.waitForMail(
    (m) => m.to.includes(email) && m.subject.includes("Activate"),
  );
  expect(activationMail.text).toContain(`${DJOSER_FRONTEND}/auth/activate/`);
  // Not active yet: the frontend's "please activate your account first".
  const early = await expectError(
    await browser.post("/auth/jwt/create/", { email, password: STRONG_PASSWORD }),
    401,
  );
  expect(early.body).toEqual(NO_ACTIVE_ACCOUNT);
  expect(
    (await browser.post("/auth/users/activation/", djoserLinkParts(activationMail, "activate"))).status,
  ).toBe(204);

  const tokens = await browser.login(email.toUpperCase(), STRONG_PASSWORD);
  const list = (await (await browser.get("/videos/")).json()) as Array<{ id: number; title: string }>;
  expect(list.map((video) => video.id)).toEqual([videoId]);
  const detail = (await (await browser.get(`/videos/${videoId}/`)).json()) as { title: string };
  expect(detail.title).toBe("The journey");
  expect((await browser.post("/progress/", { video: videoId, position: 61.2, duration: 300 })).status).toBe(
    201,
  );
  expect(await (await browser.get(`/progress/get_progress?video=${videoId}`)).json()).toEqual({
    video: videoId,
    position: 61.2,
    duration: 300,
  });

  // The interceptor after the access token expired: refresh with the login's token, retry.
  api.shiftClock(api.config.accessTokenTtlSeconds + 5);
  await expectError(await browser.get("/videos/"), 401);
  const refreshed = await browser.post("/auth/jwt/refresh/", { refresh: tokens.refresh });
  expect(refreshed.status).toBe(200);
  browser.tokens = {
    access: ((await refreshed.json()) as { access: string }).access,
    refresh: tokens.refresh,
  };
  expect((await browser.get("/videos/")).status).toBe(200);

  // Logout is the frontend's alone (it forgets the tokens); the forgotten password goes by mail.
  const forgot = new DjoserClient(api);
  expect((await forgot.post("/auth/users/reset_password/", { email }, { "x-csrftoken": "" })).status).toBe(
    204,
  );
  const resetMail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
  const confirmed = await forgot.post("/auth/users/reset_password_confirm/", {
    ...djoserLinkParts(resetMail, "reset-password"),
    new_password: NEW_PASSWORD,
    re_new_password: NEW_PASSWORD,
  });
  expect(confirmed.status).toBe(204);

  // The reset ended the session: its access token and its refresh token are refused.
  await expectError(await browser.get("/videos/"), 401);
  await expectError(await browser.post("/auth/jwt/refresh/", { refresh: tokens.refresh }), 400);
  expect((await forgot.post("/auth/jwt/create/", { email, password: STRONG_PASSWORD })).status).toBe(401);
  await forgot.login(email, NEW_PASSWORD);
  expect((await forgot.get("/videos/")).status).toBe(200);
}, 60_000);

describe("attacks on the Bearer tokens", () => {
  test("a deactivated user's Bearer and refresh token are refused at once; so is the login", async () => {
    const { client, email, password } = await djoserUser(api);
    await setAccountActive(api, await userIdOf(email), false);
    await expectError(await client.get("/videos/"), 401);
    await expectError(await client.post("/auth/jwt/refresh/", { refresh: client.tokens!.refresh }), 400);
    const login = await expectError(
      await new DjoserClient(api).post("/auth/jwt/create/", { email, password }),
      401,
    );
    expect(login.body).toEqual(NO_ACTIVE_ACCOUNT);
  });

  test("a session ended from the course client's session list dies for the djoser frontend too", async () => {
    const { client, email, password } = await djoserUser(api);
    const course = await endDialectSessionFromCourse(api, email, password);
    await expectError(await client.get("/videos/"), 401);
    await expectError(await client.post("/auth/jwt/refresh/", { refresh: client.tokens!.refresh }), 400);
    expect((await course.get("/api/me/")).status).toBe(200);
  });

  test("the refresh token keeps renewing, but not past its lifetime", async () => {
    const { client } = await djoserUser(api);
    const { refresh } = client.tokens!;
    for (let i = 0; i < 3; i++)
      expect((await client.post("/auth/jwt/refresh/", { refresh })).status).toBe(200);
    api.shiftClock(api.config.refreshTokenTtlSeconds + 60);
    try {
      await expectError(await client.post("/auth/jwt/refresh/", { refresh }), 400);
    } finally {
      api.shiftClock(-(api.config.refreshTokenTtlSeconds + 60));
    }
  });

  test("tokens of one client are refused by the other: course cookie ↔ djoser Bearer", async () => {
    const { client } = await djoserUser(api);
    const course = await loggedInClient(api);
    const courseAccess = course.cookies.get("access_token")!;
    const courseRefresh = course.cookies.get("refresh_token")!;
    await expectError(
      await new DjoserClient(api).get("/videos/", { authorization: `Bearer ${courseAccess}` }),
      401,
    );
    await expectError(
      await new DjoserClient(api).post("/auth/jwt/refresh/", { refresh: courseRefresh }),
      400,
    );
    // The course refresh token was not touched: it still rotates.
    expect((await course.post("/api/token/refresh/")).status).toBe(200);

    const thief = new Client(api.url);
    thief.cookies.set("access_token", client.tokens!.access);
    await expectError(await thief.get("/api/me/"), 401);
    const cookieRefresh = new Client(api.url);
    cookieRefresh.cookies.set("refresh_token", client.tokens!.refresh);
    cookieRefresh.cookies.set("csrftoken", "echoed");
    await expectError(await cookieRefresh.post("/api/token/refresh/"), 401);
    // …and the djoser session is not touched either.
    expect((await client.post("/auth/jwt/refresh/", { refresh: client.tokens!.refresh })).status).toBe(200);
  });

  test("a Bearer placed in the access_token cookie opens no media, no /api/ws, and logout ends nothing", async () => {
    const { client } = await djoserUser(api);
    const course = await loggedInClient(api);
    const withCookie = (access: string) => {
      const browser = new Client(api.url);
      browser.cookies.set("access_token", access);
      browser.cookies.set("csrftoken", "echoed");
      return browser;
    };
    const media = `/api/video/${videoId}/master.m3u8`;
    // The course cookie passes the access check (the fabricated video has no files: 404)…
    expect((await withCookie(course.cookies.get("access_token")!).get(media)).status).not.toBe(401);
    // …the djoser token in the same cookie does not: verified afresh, then once its verdict is cached.
    await expectError(await withCookie(client.tokens!.access).get(media), 401);
    expect((await client.get("/videos/")).status).toBe(200);
    await expectError(await withCookie(client.tokens!.access).get(media), 401);

    const socketOpens = (access: string) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(`${api.url.replace("http", "ws")}/api/ws`, {
          headers: { cookie: `access_token=${access}` },
        } as never);
        ws.addEventListener("message", () => {
          resolve(true);
          ws.close();
        });
        ws.addEventListener("error", () => resolve(false));
        ws.addEventListener("close", () => resolve(false));
      });
    expect(await socketOpens(course.cookies.get("access_token")!)).toBe(true);
    expect(await socketOpens(client.tokens!.access)).toBe(false);

    expect((await withCookie(client.tokens!.access).post("/api/logout/")).status).toBe(200);
    expect((await client.get("/videos/")).status).toBe(200);
    expect((await client.post("/auth/jwt/refresh/", { refresh: client.tokens!.refresh })).status).toBe(200);
  }, 30_000);

  test("a tampered Bearer (another signature) is refused", async () => {
    const { client } = await djoserUser(api);
    const [header, payload] = client.tokens!.access.split(".");
    const forged = `${header}.${payload}.${"A".repeat(43)}`;
    await expectError(await client.get("/videos/", { authorization: `Bearer ${forged}` }), 401);
  });
});

describe("CSRF and CORS on the dialect's prefix", () => {
  /** A browser that also signed in to the course client on this host: its cookies ride along. */
  async function withCourseCookies(): Promise<Record<string, string>> {
    const course = await loggedInClient(api);
    return { cookie: [...course.cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }

  test("the course client's cookies without X-CSRFToken do not block a dialect call; they still block ours", async () => {
    const { email } = await djoserUser(api);
    const cookies = await withCourseCookies();
    const client = new DjoserClient(api);
    // The frontend's reset_password goes with credentials and X-CSRFToken "" (no csrftoken cookie of its own).
    const reset = await client.post(
      "/auth/users/reset_password/",
      { email },
      { ...cookies, "x-csrftoken": "" },
    );
    expect(reset.status).toBe(204);
    const login = await client.post("/auth/jwt/create/", { email, password: STRONG_PASSWORD }, cookies);
    expect(login.status).toBe(200);
    const ours = new Client(api.url, DJOSER_FRONTEND);
    await expectError(await ours.post("/api/logout/", undefined, { ...cookies, "x-csrftoken": "" }), 403);
  });

  test("a path that only looks like the prefix (dot segments) gets no exemption", async () => {
    const course = await loggedInClient(api);
    const cookie = [...course.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const { port } = new URL(api.url);
    for (const path of ["/compat/../api/logout/", "/compat/%2e%2e/api/logout/", "/compat/./../api/logout/"]) {
      const status = await rawPost(Number(port), path, cookie);
      expect({ path, logged_out: status === 200 }).toEqual({ path, logged_out: false });
    }
    expect((await course.get("/api/me/")).status).toBe(200);
  });

  test("a foreign Origin is refused on the dialect's state changes, as everywhere", async () => {
    const { email, password } = await djoserUser(api);
    const foreign = new Client(api.url, "http://evil.example");
    const refused = await expectError(
      await foreign.post("/compat/djoser/api/auth/jwt/create/", { email, password }),
      403,
    );
    expect(refused.body.detail).toContain("Origin");
    await expectError(await foreign.post("/compat/djoser/api/auth/users/reset_password/", { email }), 403);
  });

  test("preflight from the frontend's origin allows its headers, with credentials", async () => {
    const response = await fetch(`${api.url}/compat/djoser/api/auth/users/reset_password/`, {
      method: "OPTIONS",
      headers: {
        origin: DJOSER_FRONTEND,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-csrftoken,accept-language,x-retry",
      },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("access-control-allow-origin")).toBe(DJOSER_FRONTEND);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/);
    for (const header of ["authorization", "content-type", "x-csrftoken", "accept-language", "x-retry"])
      expect(allowed).toContain(header);
  });
});

/** A POST with the request line exactly as given (fetch would resolve dot segments first); its status. */
function rawPost(port: number, path: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let reply = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
          );
        },
        data(_socket, chunk) {
          reply += chunk.toString();
        },
        close() {
          resolve(Number(reply.split(" ")[1]));
        },
        error(_socket, error) {
          reject(error);
        },
      },
    }).catch(reject);
  });
}
