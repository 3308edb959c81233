// The content dialect end to end on the real api (PostgreSQL, Redis, SMTP capture): a user's journey
// as its frontend walks it, and the attacks that apply to its cookies, to the refresh grace window and
// to the shared CSRF and CORS plumbing. The djoser dialect is enabled beside it, to try its tokens here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema/index.ts";
import { setAccountActive } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { endDialectSessionFromCourse, journeyVideo, startCompatApi } from "../support/compat.ts";
import {
  CONTENT_FRONTEND,
  ContentClient,
  confirmPathOf,
  contentUser,
  linkOf,
  setCookiesOf,
} from "../support/content.ts";
import { DJOSER_FRONTEND, DjoserClient, djoserUser } from "../support/djoser.ts";
import { Client, loggedInClient, STRONG_PASSWORD, type TestApi, uniqueEmail } from "../support/test-api.ts";

let api: TestApi;
let videoId: number;

beforeAll(async () => {
  api = await startCompatApi({
    COMPAT_DIALECTS: "content,djoser",
    COMPAT_CONTENT_FRONTEND_URL: CONTENT_FRONTEND,
    COMPAT_DJOSER_FRONTEND_URL: DJOSER_FRONTEND,
    CORS_ORIGINS: `http://frontend.test,${CONTENT_FRONTEND},${DJOSER_FRONTEND}`,
  });
  videoId = await journeyVideo(api, "Documentary");
}, 30_000);
afterAll(() => api?.stop());

const NEW_PASSWORD = "a-Completely-new-passphrase-7";

async function userIdOf(email: string): Promise<number> {
  const [row] = await api.database.db.select({ id: users.id }).from(users).where(eq(users.email, email));
  return row!.id;
}

/** The frontend's interceptor: on a 401, refresh, then retry once with X-Retry. */
async function withRefresh(
  client: ContentClient,
  call: (headers?: Record<string, string>) => Promise<Response>,
) {
  const first = await call();
  if (first.status !== 401) return first;
  const refreshed = await client.post("/users/refresh/", {});
  if (refreshed.status !== 200) return refreshed;
  return call({ "x-retry": "1" });
}

test("register → mail → confirm → login → list → play URL → favorite → refresh → logout → reset → login with the new password", async () => {
  const email = uniqueEmail("content-journey");
  const browser = new ContentClient(api);

  // The sign-up form's email validator: a free address.
  const free = await browser.get(`/users/email-exists/?email=${encodeURIComponent(email)}`);
  expect(await free.json()).toEqual({ exists: false });
  const registered = await browser.post("/users/register/", {
    email,
    password: STRONG_PASSWORD,
    confirm_password: STRONG_PASSWORD,
  });
  expect(registered.status).toBe(201);
  const activationMail = await api.smtp.waitForMail(
    (m) => m.to.includes(email) && m.subject.includes("Activate"),
  );
  // Not active yet: the login form shakes.
  await expectError(
    await browser.post("/users/login/", { email, password: STRONG_PASSWORD, remember: false }),
    400,
  );
  const confirmed = await browser.get(confirmPathOf(api, activationMail));
  expect(confirmed.status).toBe(302);
  expect(confirmed.headers.get("location")).toBe(`${CONTENT_FRONTEND}/login`);

  const user = await browser.login(email.toUpperCase(), STRONG_PASSWORD, false);
  expect(user.email).toBe(email);
  // Both components load the list at once.
  const lists = await Promise.all([browser.get("/content/"), browser.get("/content/")]);
  for (const list of lists) {
    expect(list.status).toBe(200);
    const videosListed = (await list.json()) as Array<Record<string, unknown>>;
    expect(videosListed.map((video) => video.id)).toEqual([videoId]);
    // The media fields are there, and honestly empty: this build has no progressive MP4 yet.
    expect(videosListed[0]).toMatchObject({
      processing_state: "ready",
      processing_error: null,
      video_file: null,
      converted_files: {},
    });
  }
  // The player asks for the rung the connection allows; without an MP4 the answer is a 404.
  const playUrl = await browser.get(`/content/video-url/${videoId}/?quality=120p`);
  await expectError(playUrl, 404);

  const favorite = await browser.post("/content/add-favorite/", { video_id: videoId });
  expect(await favorite.json()).toEqual([videoId]);

  // The access cookie expired: both list calls get a 401 and refresh in parallel with the same cookie.
  api.shiftClock(api.config.accessTokenTtlSeconds + 5);
  const refreshes = await Promise.all([
    browser.post("/users/refresh/", {}),
    browser.post("/users/refresh/", {}),
  ]);
  expect(refreshes.map((response) => response.status)).toEqual([200, 200]);
  const successors = refreshes.map((response) => setCookiesOf(response).get("vf_refresh")?.value);
  expect(successors[0]).toBe(successors[1]!);
  expect((await browser.get("/content/", { "x-retry": "1" })).status).toBe(200);

  const loggedOut = await browser.post("/users/logout/", {});
  expect(loggedOut.status).toBe(200);
  await expectError(await browser.get("/content/"), 401);

  // Forgot password: the form checks the address exists first.
  const forgot = new ContentClient(api);
  expect(await (await forgot.get(`/users/email-exists/?email=${email}`)).json()).toEqual({ exists: true });
  expect((await forgot.post("/users/forgot-password/", { email })).status).toBe(200);
  const resetMail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
  const link = linkOf(resetMail, `${CONTENT_FRONTEND}/reset-password?`);
  const reset = await forgot.post("/users/reset-password/", {
    uid: link.searchParams.get("uid"),
    token: link.searchParams.get("token"),
    new_password: NEW_PASSWORD,
  });
  expect(reset.status).toBe(200);
  await expectError(await forgot.post("/users/login/", { email, password: STRONG_PASSWORD }), 400);
  const again = await forgot.login(email, NEW_PASSWORD, true);
  expect(again.favorite_videos).toEqual([videoId]);
  expect((await forgot.get("/content/")).status).toBe(200);
}, 90_000);

describe("the refresh grace window", () => {
  test("a rotated cookie presented after the window revokes the session: the successor dies too", async () => {
    const { client } = await contentUser(api);
    const rotated = client.http.cookies.get("vf_refresh")!;
    expect((await client.post("/users/refresh/", {})).status).toBe(200);
    await api.endGraceWindows();
    const thief = new ContentClient(api);
    thief.http.cookies.set("vf_refresh", rotated);
    const reuse = await expectError(await thief.post("/users/refresh/", {}), 401);
    expect(reuse.body).toEqual({ error: "Invalid refresh token." });
    // The owner's successor belonged to the same family: refused, and the frontend goes to /login.
    await expectError(await client.post("/users/refresh/", {}), 401);
    const retried = await withRefresh(client, (headers) => client.get("/content/", headers));
    expect(retried.status).toBe(401);
  }, 30_000);
});

describe("attacks on the cookies", () => {
  test("a deactivated user's cookies are refused at once; so is the login", async () => {
    const { client, email, password } = await contentUser(api);
    await setAccountActive(api, await userIdOf(email), false);
    await expectError(await client.get("/content/"), 401);
    await expectError(await client.post("/users/refresh/", {}), 401);
    await expectError(await new ContentClient(api).post("/users/login/", { email, password }), 400);
  }, 30_000);

  test("the session is listed in GET /api/sessions/ and ends from there", async () => {
    const { client, email, password } = await contentUser(api);
    const course = await endDialectSessionFromCourse(api, email, password);
    await expectError(await client.get("/content/"), 401);
    await expectError(await client.post("/users/refresh/", {}), 401);
    expect((await course.get("/api/me/")).status).toBe(200);
  }, 30_000);

  test("tokens of another client are refused: course cookies and djoser Bearers ↔ vf_access / vf_refresh", async () => {
    const { client } = await contentUser(api);
    const course = await loggedInClient(api);
    const djoser = (await djoserUser(api)).client;

    for (const foreignAccess of [course.cookies.get("access_token")!, djoser.tokens!.access]) {
      const planted = new ContentClient(api);
      planted.http.cookies.set("vf_access", foreignAccess);
      await expectError(await planted.get("/content/"), 401);
    }
    for (const foreignRefresh of [course.cookies.get("refresh_token")!, djoser.tokens!.refresh]) {
      const planted = new ContentClient(api);
      planted.http.cookies.set("vf_refresh", `s.${foreignRefresh}`);
      await expectError(await planted.post("/users/refresh/", {}), 401);
    }
    // …and the content tokens elsewhere.
    const contentAccess = client.http.cookies.get("vf_access")!;
    const contentRefresh = client.http.cookies.get("vf_refresh")!.slice(2);
    const thief = new Client(api.url);
    thief.cookies.set("access_token", contentAccess);
    await expectError(await thief.get("/api/me/"), 401);
    await expectError(
      await new DjoserClient(api).get("/videos/", { authorization: `Bearer ${contentAccess}` }),
      401,
    );
    await expectError(
      await new DjoserClient(api).post("/auth/jwt/refresh/", { refresh: contentRefresh }),
      400,
    );
    // None of this touched the sessions it tried: each still works for its own client.
    expect((await client.get("/content/")).status).toBe(200);
    expect((await client.post("/users/refresh/", {})).status).toBe(200);
    expect((await course.post("/api/token/refresh/")).status).toBe(200);
  }, 60_000);

  test("a tampered vf_access (another signature) is refused", async () => {
    const { client } = await contentUser(api);
    const [header, payload] = client.http.cookies.get("vf_access")!.split(".");
    client.http.cookies.set("vf_access", `${header}.${payload}.${"A".repeat(43)}`);
    await expectError(await client.get("/content/"), 401);
  }, 30_000);
});

describe("CSRF, CORS and enumeration on the dialect's prefix", () => {
  test("a foreign Origin is refused on every state change, the cookies notwithstanding", async () => {
    const { client, email, password } = await contentUser(api);
    const cookie = [...client.http.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const foreign = new Client(api.url, "http://evil.example");
    for (const [path, body] of [
      ["/compat/content/users/login/", { email, password }],
      ["/compat/content/users/logout/", {}],
      ["/compat/content/users/refresh/", {}],
      ["/compat/content/content/add-favorite/", { video_id: videoId }],
      ["/compat/content/users/forgot-password/", { email }],
    ] as const) {
      const refused = await expectError(await foreign.post(path, body, { cookie }), 403);
      expect(refused.body.detail).toContain("Origin");
    }
    // The session survived the attempts.
    expect(await (await client.post("/content/add-favorite/", { video_id: videoId })).json()).toEqual([
      videoId,
    ]);
  }, 30_000);

  test("the course client's cookies riding along without X-CSRFToken do not block the dialect", async () => {
    const { client, email, password } = await contentUser(api);
    const course = await loggedInClient(api);
    for (const [name, value] of course.cookies)
      if (name !== "csrftoken") client.http.cookies.set(name, value);
    expect((await client.post("/content/add-favorite/", { video_id: videoId })).status).toBe(200);
    expect((await client.post("/users/login/", { email, password })).status).toBe(200);
    expect((await client.post("/users/logout/", {})).status).toBe(200);
  }, 30_000);

  test("preflight from the frontend's origin allows x-retry and content-type, with credentials", async () => {
    const response = await fetch(`${api.url}/compat/content/users/refresh/`, {
      method: "OPTIONS",
      headers: {
        origin: CONTENT_FRONTEND,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-retry",
      },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("access-control-allow-origin")).toBe(CONTENT_FRONTEND);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/);
    for (const header of ["content-type", "x-retry"]) expect(allowed).toContain(header);
  });

  test("only email-exists tells addresses apart: register and forgot-password answer alike for a taken one", async () => {
    const { email } = await contentUser(api);
    const client = new ContentClient(api);
    const answers = [];
    for (const address of [email, uniqueEmail("content-free")]) {
      const registered = await client.post("/users/register/", {
        email: address,
        password: STRONG_PASSWORD,
        confirm_password: STRONG_PASSWORD,
      });
      const forgot = await client.post("/users/forgot-password/", { email: address });
      answers.push({
        register: [registered.status, Object.keys((await registered.json()) as object)],
        forgot: [forgot.status, await forgot.json()],
      });
    }
    expect(answers[0]).toEqual(answers[1]!);
  }, 30_000);
});
