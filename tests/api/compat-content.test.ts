// The content dialect's contract over HTTP against the real api: every call its frontend makes
// (shared/dialects/content.md), with the status codes, the fields the frontend reads, its cookies and
// the error shapes of the original. The journey and the attacks are in compat-content-journey.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../support/assertions.ts";
import {
  type CatalogueVideo,
  COMPAT_PUBLIC_URL as PUBLIC_URL,
  seedCatalogue,
  startCompatApi,
} from "../support/compat.ts";
import {
  CONTENT_ENV,
  CONTENT_FRONTEND,
  ContentClient,
  confirmPathOf,
  contentUser,
  linkOf,
  setCookiesOf,
} from "../support/content.ts";
import { Client, STRONG_PASSWORD, startTestApi, type TestApi, uniqueEmail } from "../support/test-api.ts";

const NEW_PASSWORD = "a-Completely-new-passphrase-7";

let api: TestApi;
let viewer: ContentClient;
let listed: CatalogueVideo[];

beforeAll(async () => {
  api = await startCompatApi({ ...CONTENT_ENV, PUBLIC_URL });
  ({ listed } = await seedCatalogue(api, "Comedy", ["Opening night", "Encore"]));
  viewer = (await contentUser(api)).client;
}, 60_000);
afterAll(() => api?.stop());

describe("users/email-exists/", () => {
  test("truthful: false for an unknown address, true once registered (activated or not), any case", async () => {
    const email = uniqueEmail("content-exists");
    const client = new ContentClient(api);
    const ask = async (address: string) => {
      const response = await client.get(`/users/email-exists/?email=${encodeURIComponent(address)}`);
      expect(response.status).toBe(200);
      return (await response.json()) as { exists: boolean };
    };
    expect(await ask(email)).toEqual({ exists: false });
    await client.post("/users/register/", {
      email,
      password: STRONG_PASSWORD,
      confirm_password: STRONG_PASSWORD,
    });
    expect(await ask(email)).toEqual({ exists: true });
    expect(await ask(` ${email.toUpperCase()} `)).toEqual({ exists: true });
    await expectError(await client.get("/users/email-exists/"), 400);
    await expectError(await client.get("/users/email-exists/?email="), 400);
  }, 30_000);

  test("each lookup spends one of the address's login attempts: 429 with Retry-After past the limit", async () => {
    const client = new ContentClient(api);
    const limit = api.config.rateLimits.login.ip.limit;
    for (let i = 0; i < limit; i++) {
      expect((await client.get(`/users/email-exists/?email=probe-${i}@example.com`)).status).toBe(200);
    }
    const refused = await client.get("/users/email-exists/?email=one-more@example.com");
    await expectError(refused, 429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // The same budget as the login form's: this address cannot try a password either now.
    await expectError(
      await client.post("/users/login/", { email: "x@example.com", password: "whatever-9" }),
      429,
    );
  }, 30_000);
});

describe("users/register/ and users/confirm/", () => {
  test("201 {email}; the mail links to the backend's users/confirm/, which answers 302 to the frontend's /login", async () => {
    const email = uniqueEmail("content-register");
    const client = new ContentClient(api);
    const response = await client.post("/users/register/", {
      email,
      password: STRONG_PASSWORD,
      confirm_password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ email });
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email));
    expect(mail.subject).toBe("Activate your Videoflix account");
    const link = linkOf(mail, `${PUBLIC_URL}/compat/content/users/confirm/?`);
    expect([...link.searchParams.keys()].sort()).toEqual(["token", "uid"]);

    const confirmed = await client.get(confirmPathOf(api, mail));
    expect(confirmed.status).toBe(302);
    expect(confirmed.headers.get("location")).toBe(`${CONTENT_FRONTEND}/login`);
    // Used once: the original's 400 {error}.
    const again = await expectError(await client.get(confirmPathOf(api, mail)), 400);
    expect(again.body).toEqual({ error: "Invalid or expired token." });
  }, 30_000);

  test("users/confirm/ without uid or token, or with a garbled one: 400 {error}", async () => {
    const client = new ContentClient(api);
    for (const query of ["", "?uid=MQ", "?token=abc", "?uid=&token="]) {
      const { body } = await expectError(await client.get(`/users/confirm/${query}`), 400);
      expect(body).toEqual({ error: "Missing uid or token." });
    }
    const { body } = await expectError(await client.get("/users/confirm/?uid=!!&token=xyz"), 400);
    expect(body).toEqual({ error: "Invalid or expired token." });
  });

  test("400 with the frontend's field names; an address that has an account gets the same 201", async () => {
    const client = new ContentClient(api);
    const email = uniqueEmail("content-bad");
    const mismatch = await expectError(
      await client.post("/users/register/", {
        email,
        password: STRONG_PASSWORD,
        confirm_password: "other-Pass-99",
      }),
      400,
    );
    expect(Object.keys(mismatch.body)).toEqual(["confirm_password"]);
    // The frontend allows 6 characters; our rules want 8 and no common password.
    const short = await expectError(
      await client.post("/users/register/", { email, password: "abc123", confirm_password: "abc123" }),
      400,
    );
    expect(short.body.password).toBeDefined();
    await expectError(await client.post("/users/register/", { email }), 400);

    const { email: taken } = await contentUser(api);
    const response = await client.post("/users/register/", {
      email: taken,
      password: STRONG_PASSWORD,
      confirm_password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    const notice = await api.smtp.waitForMail(
      (m) => m.to.includes(taken) && m.subject === "Your Videoflix account",
    );
    expect(notice.links).toContain(`${CONTENT_FRONTEND}/login`);
    expect(notice.links).toContain(`${CONTENT_FRONTEND}/forgot-password`);
  }, 30_000);
});

describe("users/login/", () => {
  test("200 with the user the frontend keeps; HttpOnly Lax cookies under /compat/content/, session ones without remember", async () => {
    const { email, password } = await contentUser(api);
    const client = new ContentClient(api);
    const response = await client.post("/users/login/", { email, password, remember: false });
    expect(response.status).toBe(200);
    const user = (await response.json()) as Record<string, unknown>;
    expect(user).toEqual({
      id: expect.any(Number),
      username: email,
      email,
      phone: null,
      address: null,
      favorite_videos: [],
    });
    const cookies = setCookiesOf(response);
    expect([...cookies.keys()].sort()).toEqual(["vf_access", "vf_refresh"]);
    for (const cookie of cookies.values()) {
      expect(cookie.attributes.path).toBe("/compat/content/");
      expect(cookie.attributes.httponly).toBe(true);
      expect(String(cookie.attributes.samesite).toLowerCase()).toBe("lax");
      expect(cookie.maxAge).toBeUndefined();
      expect(cookie.attributes.expires).toBeUndefined();
    }
    expect((await client.get("/content/")).status).toBe(200);
  }, 30_000);

  test("remember: true makes both cookies persistent, as long as their tokens live", async () => {
    const { email, password } = await contentUser(api);
    const response = await new ContentClient(api).post("/users/login/", { email, password, remember: true });
    expect(response.status).toBe(200);
    const cookies = setCookiesOf(response);
    expect(cookies.get("vf_access")?.maxAge).toBe(api.config.accessTokenTtlSeconds);
    expect(cookies.get("vf_refresh")?.maxAge).toBe(api.config.refreshTokenTtlSeconds);
  }, 30_000);

  test("400 {non_field_errors} for a wrong password, an unknown address and an inactive account alike", async () => {
    const { email } = await contentUser(api);
    const inactive = uniqueEmail("content-inactive");
    const client = new ContentClient(api);
    await client.post("/users/register/", {
      email: inactive,
      password: STRONG_PASSWORD,
      confirm_password: STRONG_PASSWORD,
    });
    for (const credentials of [
      { email, password: `${STRONG_PASSWORD}x` },
      { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
      { email: inactive, password: STRONG_PASSWORD },
    ]) {
      const response = await client.post("/users/login/", { ...credentials, remember: false });
      const { body } = await expectError(response, 400);
      expect(body).toEqual({ non_field_errors: ["Invalid credentials or inactive user."] });
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  }, 30_000);
});

describe("users/refresh/", () => {
  test("200 {detail}: both cookies replaced (the refresh token rotates), the same persistence as the login", async () => {
    for (const remember of [false, true]) {
      const { client } = await contentUser(api, { remember });
      const before = client.http.cookies.get("vf_refresh");
      const response = await client.post("/users/refresh/", {});
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ detail: "Access token refreshed." });
      const cookies = setCookiesOf(response);
      expect(cookies.get("vf_refresh")?.value).not.toBe(before);
      expect(cookies.get("vf_refresh")?.attributes.path).toBe("/compat/content/");
      expect(cookies.get("vf_refresh")?.maxAge).toBe(
        remember ? api.config.refreshTokenTtlSeconds : undefined,
      );
      expect(cookies.get("vf_access")?.maxAge).toBe(remember ? api.config.accessTokenTtlSeconds : undefined);
      expect((await client.get("/content/")).status).toBe(200);
    }
  }, 30_000);

  test("401 {error} without a refresh cookie and with one that does not work", async () => {
    const client = new ContentClient(api);
    const missing = await expectError(await client.post("/users/refresh/", {}), 401);
    expect(missing.body).toEqual({ error: "Missing refresh cookie." });
    client.http.cookies.set("vf_refresh", "s.not-a-token-we-issued");
    const invalid = await expectError(await client.post("/users/refresh/", {}), 401);
    expect(invalid.body).toEqual({ error: "Invalid refresh token." });
  });
});

describe("users/logout/", () => {
  test("200 {message}; the cookies are deleted and their session ends", async () => {
    const { client } = await contentUser(api);
    const access = client.http.cookies.get("vf_access")!;
    const refresh = client.http.cookies.get("vf_refresh")!;
    const response = await client.post("/users/logout/", {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: "Successfully logged out." });
    const cookies = setCookiesOf(response);
    for (const name of ["vf_access", "vf_refresh"]) {
      expect(cookies.get(name)?.maxAge).toBe(0);
      expect(cookies.get(name)?.attributes.path).toBe("/compat/content/");
    }
    // A copy of the old cookies is worth nothing now.
    const copy = new ContentClient(api);
    copy.http.cookies.set("vf_access", access);
    copy.http.cookies.set("vf_refresh", refresh);
    await expectError(await copy.get("/content/"), 401);
    await expectError(await copy.post("/users/refresh/", {}), 401);
  }, 30_000);

  test("200 without any cookie too (the frontend counts the original's 401 as logged out)", async () => {
    const response = await new ContentClient(api).post("/users/logout/", {});
    expect(response.status).toBe(200);
  });
});

describe("users/forgot-password/ and users/reset-password/", () => {
  test("200 {message} for a known, an unknown and a malformed address; 400 {error} without one", async () => {
    const { email } = await contentUser(api);
    const client = new ContentClient(api);
    for (const address of [email, uniqueEmail("nobody"), "not an address"]) {
      const response = await client.post("/users/forgot-password/", { email: address });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ message: "If this email exists, a reset link has been sent." });
    }
    for (const body of [{}, { email: "  " }]) {
      const { body: error } = await expectError(await client.post("/users/forgot-password/", body), 400);
      expect(error).toEqual({ error: "Email is required." });
    }
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    const link = linkOf(mail, `${CONTENT_FRONTEND}/reset-password?`);
    expect([...link.searchParams.keys()].sort()).toEqual(["token", "uid"]);
  }, 30_000);

  test("200 {message} with the link's uid and token; 400 {error} for a weak password and for a used link", async () => {
    const { email } = await contentUser(api);
    const client = new ContentClient(api);
    await client.post("/users/forgot-password/", { email });
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    const link = linkOf(mail, `${CONTENT_FRONTEND}/reset-password?`);
    const parts = { uid: link.searchParams.get("uid"), token: link.searchParams.get("token") };

    const weak = await expectError(
      await client.post("/users/reset-password/", { ...parts, new_password: "abc123" }),
      400,
    );
    expect(typeof weak.body.error).toBe("string");
    expect(weak.body.new_password).toBeDefined();
    const reset = await client.post("/users/reset-password/", { ...parts, new_password: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ message: "Password has been reset successfully." });
    const used = await expectError(
      await client.post("/users/reset-password/", { ...parts, new_password: NEW_PASSWORD }),
      400,
    );
    expect(typeof used.body.error).toBe("string");
    await expectError(await client.post("/users/reset-password/", { uid: "MQ" }), 400);
    await client.login(email, NEW_PASSWORD);
  }, 30_000);
});

interface ContentVideo {
  id: number;
  title: string;
  description: string;
  category: string;
  image_file: string | null;
  image_url: string | null;
  video_file: string | null;
  converted_files: Record<string, string>;
  processing_state: string;
  processing_error: string | null;
  created_at: string;
}

const expectedVideo = (video: (typeof listed)[number]): ContentVideo => ({
  id: video.id,
  title: video.title,
  description: `About ${video.title}`,
  category: "Comedy",
  image_file: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
  image_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
  // No rendition of this build has a progressive MP4 (api/compat/media.ts).
  video_file: null,
  converted_files: {},
  processing_state: "ready",
  processing_error: null,
  created_at: video.createdAt.toISOString(),
});

describe("content/", () => {
  test("every listed video, newest first, in the original serializer's fields; ready and clickable", async () => {
    const response = await viewer.get("/content/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([...listed].reverse().map(expectedVideo));
  });

  test("401 without the cookie, with a garbled one and with an expired one; the frontend then refreshes", async () => {
    await expectError(await new ContentClient(api).get("/content/"), 401);
    const garbled = new ContentClient(api);
    garbled.http.cookies.set("vf_access", "garbage");
    await expectError(await garbled.get("/content/"), 401);
    const { client } = await contentUser(api);
    api.shiftClock(api.config.accessTokenTtlSeconds + 60);
    try {
      await expectError(await client.get("/content/"), 401);
      expect((await client.post("/users/refresh/", {})).status).toBe(200);
      expect((await client.get("/content/", { "x-retry": "1" })).status).toBe(200);
    } finally {
      api.shiftClock(-(api.config.accessTokenTtlSeconds + 60));
    }
  }, 30_000);
});

describe("content/add-favorite/", () => {
  test("toggles: the full id list each time; the next login brings it along", async () => {
    const { client, email, password } = await contentUser(api);
    const [first, second] = listed;
    const toggle = async (video_id: number) => {
      const response = await client.post("/content/add-favorite/", { video_id });
      expect(response.status).toBe(200);
      return (await response.json()) as number[];
    };
    expect(await toggle(first!.id)).toEqual([first!.id]);
    expect((await toggle(second!.id)).sort()).toEqual([first!.id, second!.id].sort());
    expect(await toggle(first!.id)).toEqual([second!.id]);
    const user = await new ContentClient(api).login(email, password);
    expect(user.favorite_videos).toEqual([second!.id]);
  }, 30_000);

  test("400 without a video id, 404 for a video that is not listed, 401 signed out", async () => {
    await expectError(await viewer.post("/content/add-favorite/", {}), 400);
    await expectError(await viewer.post("/content/add-favorite/", { video_id: "abc" }), 400);
    await expectError(await viewer.post("/content/add-favorite/", { video_id: 999_999 }), 404);
    await expectError(
      await new ContentClient(api).post("/content/add-favorite/", { video_id: listed[0]!.id }),
      401,
    );
  });
});

describe("content/video-url/<id>/", () => {
  test("404 {detail} while the video has no progressive MP4 (this build has none), for every quality", async () => {
    for (const quality of ["120p", "360p", "720p", "1080p"]) {
      const { body } = await expectError(
        await viewer.get(`/content/video-url/${listed[0]!.id}/?quality=${quality}`),
        404,
      );
      expect(body).toEqual({ detail: "This video has no progressive MP4 yet." });
    }
  });

  test("400 for a quality it never asks, 404 for a video that is not listed, 401 signed out", async () => {
    await expectError(await viewer.get(`/content/video-url/${listed[0]!.id}/?quality=4k`), 400);
    await expectError(await viewer.get("/content/video-url/abc/?quality=720p"), 400);
    const missing = await expectError(await viewer.get("/content/video-url/999999/?quality=720p"), 404);
    expect(missing.body).toEqual({ detail: "Video not found." });
    await expectError(
      await new ContentClient(api).get(`/content/video-url/${listed[0]!.id}/?quality=720p`),
      401,
    );
  });
});

describe("mounting", () => {
  test("the dialect's routes are documented under their own tag", async () => {
    const doc = (await (await fetch(`${api.url}/openapi/json`)).json()) as {
      tags: Array<{ name: string }>;
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    expect(doc.tags.map((tag) => tag.name)).toContain("Dialect: content");
    expect(doc.tags.map((tag) => tag.name)).not.toContain("Dialect: djoser");
    for (const [path, method] of [
      ["/compat/content/users/email-exists/", "get"],
      ["/compat/content/users/login/", "post"],
      ["/compat/content/users/refresh/", "post"],
      ["/compat/content/content/", "get"],
      ["/compat/content/content/add-favorite/", "post"],
      ["/compat/content/content/video-url/{id}/", "get"],
    ] as const) {
      expect({ path, tags: doc.paths[path]?.[method]?.tags }).toEqual({ path, tags: ["Dialect: content"] });
    }
  });

  test("an api without the dialect answers 404 JSON there, email-exists included", async () => {
    const plain = await startTestApi({ COMPAT_DIALECTS: "djoser" }, { consumeEvents: false, shareWith: api });
    try {
      const client = new Client(plain.url);
      await expectError(await client.get("/compat/content/users/email-exists/?email=a@example.com"), 404);
      await expectError(
        await client.post("/compat/content/users/login/", { email: "a@example.com", password: "x" }),
        404,
      );
      await expectError(await client.get("/compat/content/content/"), 404);
    } finally {
      await plain.stop();
    }
  }, 30_000);
});
