// The authemail dialect's contract over HTTP against the real api: every call its frontend makes
// (shared/dialects/authemail.md), with the status codes, the fields the frontend reads and the error
// shapes it branches on. The journey and the attacks are in compat-authemail-journey.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../support/assertions.ts";
import {
  AUTHEMAIL_ENV,
  AUTHEMAIL_FRONTEND,
  AuthemailClient,
  authemailCode,
  authemailUser,
} from "../support/authemail.ts";
import {
  type CatalogueVideo,
  COMPAT_PUBLIC_URL as PUBLIC_URL,
  seedCatalogue,
  startCompatApi,
} from "../support/compat.ts";
import { Client, STRONG_PASSWORD, startTestApi, type TestApi, uniqueEmail } from "../support/test-api.ts";

const NEW_PASSWORD = "a-Completely-new-passphrase-7";

let api: TestApi;
let viewer: AuthemailClient;
let scienceFiction: { id: number; name: string };
let listed: CatalogueVideo[];

const query = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

beforeAll(async () => {
  api = await startCompatApi({ ...AUTHEMAIL_ENV, PUBLIC_URL });
  ({ category: scienceFiction, listed } = await seedCatalogue(api, "Science Fiction", [
    "First light",
    "Second wind",
  ]));
  viewer = (await authemailUser(api)).client;
}, 60_000);
afterAll(() => api?.stop());

describe("accounts/signup/", () => {
  test("201 {email, first_name, last_name}; the mail links to the frontend's /email-verify?code=<uid>.<token>", async () => {
    const email = uniqueEmail("authemail-signup");
    const response = await new AuthemailClient(api).post("/accounts/signup/", {
      email,
      password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ email, first_name: "", last_name: "" });
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email));
    expect(mail.subject).toBe("Activate your Videoflix account");
    const code = authemailCode(mail, "email-verify");
    expect(code).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}$/);
    expect(mail.links.some((link) => link.includes("/pages/auth/"))).toBe(false);
  }, 30_000);

  test("400 {email: [...]} or {password: [...]}: the first message is what the frontend shows", async () => {
    const client = new AuthemailClient(api);
    const badEmail = await expectError(
      await client.post("/accounts/signup/", { email: "not an address", password: STRONG_PASSWORD }),
      400,
    );
    expect(badEmail.body.email).toBeArray();
    const weak = await expectError(
      await client.post("/accounts/signup/", { email: uniqueEmail("authemail-weak"), password: "password" }),
      400,
    );
    expect(Object.keys(weak.body)).toEqual(["password"]);
    expect(weak.body.password![0]).toBeString();
    await expectError(await client.post("/accounts/signup/", { email: uniqueEmail("authemail-nopw") }), 400);
  });

  test("an address that already has an account gets the same 201; its owner a notice with the frontend's pages", async () => {
    const { email } = await authemailUser(api);
    const response = await new AuthemailClient(api).post("/accounts/signup/", {
      email,
      password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ email, first_name: "", last_name: "" });
    const notice = await api.smtp.waitForMail(
      (m) => m.to.includes(email) && m.subject === "Your Videoflix account",
    );
    expect(notice.links).toContain(`${AUTHEMAIL_FRONTEND}/login`);
    expect(notice.links).toContain(`${AUTHEMAIL_FRONTEND}/forgot-password`);
  }, 30_000);
});

describe("accounts/signup/verify/", () => {
  test("200 {success}, then 400 {detail: Unable to verify user.} for the used code; 400 for a garbled or missing one", async () => {
    const email = uniqueEmail("authemail-verify");
    const client = new AuthemailClient(api);
    await client.post("/accounts/signup/", { email, password: STRONG_PASSWORD });
    const code = authemailCode(await api.smtp.waitForMail((m) => m.to.includes(email)), "email-verify");
    const verified = await client.get(`/accounts/signup/verify/${query({ code })}`);
    expect(verified.status).toBe(200);
    expect(await verified.json()).toEqual({ success: "Email address verified." });
    const again = await expectError(await client.get(`/accounts/signup/verify/${query({ code })}`), 400);
    expect(again.body).toEqual({ detail: "Unable to verify user." });
    for (const garbled of ["", "nodot", ".x", "x.", "!!.token", `${code}x`]) {
      await expectError(await client.get(`/accounts/signup/verify/${query({ code: garbled })}`), 400);
    }
    await expectError(await client.get("/accounts/signup/verify/"), 400);
  }, 30_000);
});

describe("accounts/login/", () => {
  test("200 {token}: the key the signed-in calls take as `Authorization: Token <key>`", async () => {
    const { email, password } = await authemailUser(api);
    const client = new AuthemailClient(api);
    const token = await client.login(email, password);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect((await client.get("/videos/")).status).toBe(200);
    // Every login has a key of its own.
    expect(await new AuthemailClient(api).login(email, password)).not.toBe(token);
  }, 30_000);

  test("401 {detail} for a wrong password, an unknown address and an unverified account alike", async () => {
    const { email } = await authemailUser(api);
    const unverified = uniqueEmail("authemail-unverified");
    const client = new AuthemailClient(api);
    await client.post("/accounts/signup/", { email: unverified, password: STRONG_PASSWORD });
    for (const credentials of [
      { email, password: `${STRONG_PASSWORD}x` },
      { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
      { email: unverified, password: STRONG_PASSWORD },
    ]) {
      const { body } = await expectError(await client.post("/accounts/login/", credentials), 401);
      expect(body).toEqual({ detail: "Unable to login with provided credentials." });
    }
    await expectError(await client.post("/accounts/login/", { email }), 400);
  }, 30_000);
});

describe("accounts/logout/", () => {
  test("GET with the key: 200 {success}, and the key is refused from then on; 401 without one", async () => {
    const { client } = await authemailUser(api);
    const response = await client.get("/accounts/logout/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: "User logged out." });
    await expectError(await client.get("/videos/"), 401);
    await expectError(await client.get("/categories/"), 401);
    await expectError(await client.get("/accounts/logout/"), 401);
    await expectError(await new AuthemailClient(api).get("/accounts/logout/"), 401);
  }, 30_000);
});

describe("accounts/password/reset/, reset/verify/ and reset/verified/", () => {
  test("201 {email} for a known and an unknown address alike; 400 {email} for what is not an address", async () => {
    const { email } = await authemailUser(api);
    const client = new AuthemailClient(api);
    const answers: string[] = [];
    for (const address of [email, uniqueEmail("nobody")]) {
      const response = await client.post("/accounts/password/reset/", { email: address });
      expect(response.status).toBe(201);
      answers.push(JSON.stringify({ ...((await response.json()) as object), email: "" }));
    }
    expect(answers[0]).toBe(answers[1]!);
    const bad = await expectError(
      await client.post("/accounts/password/reset/", { email: "not an address" }),
      400,
    );
    expect(bad.body.email).toBeArray();
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    expect(authemailCode(mail, "new-password")).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}$/);
  }, 30_000);

  test("verify/ tells a usable code without using it; verified/ sets the password once", async () => {
    const { email } = await authemailUser(api);
    const client = new AuthemailClient(api);
    expect((await client.post("/accounts/password/reset/", { email })).status).toBe(201);
    const code = authemailCode(
      await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset")),
      "new-password",
    );
    for (let i = 0; i < 2; i++) {
      const checked = await client.get(`/accounts/password/reset/verify/${query({ code })}`);
      expect(checked.status).toBe(200);
      expect(await checked.json()).toEqual({ success: "Email address verified." });
    }
    const weak = await expectError(
      await client.post("/accounts/password/reset/verified/", { code, password: "password" }),
      400,
    );
    expect(Object.keys(weak.body)).toEqual(["password"]);
    const reset = await client.post("/accounts/password/reset/verified/", { code, password: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ success: "Password reset." });

    const used = await expectError(
      await client.post("/accounts/password/reset/verified/", { code, password: NEW_PASSWORD }),
      400,
    );
    expect(used.body).toEqual({ detail: "Unable to verify user." });
    await expectError(await client.get(`/accounts/password/reset/verify/${query({ code })}`), 400);
    for (const garbled of ["nodot", "x.", `${code}x`]) {
      await expectError(
        await client.post("/accounts/password/reset/verified/", { code: garbled, password: NEW_PASSWORD }),
        400,
      );
      await expectError(await client.get(`/accounts/password/reset/verify/${query({ code: garbled })}`), 400);
    }
    await client.login(email, NEW_PASSWORD);
  }, 30_000);
});

interface AuthemailVideo {
  id: number;
  title: string;
  description: string;
  file: string | null;
  thumbnail: string | null;
  category: { id: number; name: string; slug: string };
  created_at: string;
  resolutions: Array<{ label: string; src: string; type: string }>;
}

const expectedVideo = (video: (typeof listed)[number]): AuthemailVideo => ({
  id: video.id,
  title: video.title,
  description: `About ${video.title}`,
  // No rendition of this build has a progressive MP4 (api/compat/media.ts): no file to play, honestly.
  file: null,
  thumbnail: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
  category: { id: scienceFiction.id, name: "Science Fiction", slug: "science-fiction" },
  created_at: video.createdAt.toISOString(),
  resolutions: [],
});

describe("categories/ and videos/", () => {
  test("categories/: [{id, name, slug}] of the categories that have videos", async () => {
    const response = await viewer.get("/categories/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { id: scienceFiction.id, name: "Science Fiction", slug: "science-fiction" },
    ]);
  });

  test("videos/: every listed video, newest first, with the nested category and the media fields", async () => {
    const response = await viewer.get("/videos/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([...listed].reverse().map(expectedVideo));
  });

  test("401 without a key, with an unknown one and with a malformed header", async () => {
    const anonymous = new AuthemailClient(api);
    for (const path of ["/videos/", "/categories/"]) {
      await expectError(await anonymous.get(path), 401);
      for (const authorization of [
        "Token not-a-key-we-issued",
        "Token ",
        "Token a b",
        `Bearer ${viewer.token}`,
      ])
        await expectError(await anonymous.get(path, { authorization }), 401);
    }
    // The keyword is case-insensitive, as DRF's.
    expect((await anonymous.get("/videos/", { authorization: `token ${viewer.token}` })).status).toBe(200);
  });
});

describe("media/<id>/video[_<N>p].mp4 (the player's URL rewriting)", () => {
  const mediaPath = (id: number, file: string, token?: string) =>
    `/compat/authemail/media/${id}/${file}${token === undefined ? "" : query({ token })}`;

  test("a rung the video does not have answers 404 JSON at once, so the player tries the next one", async () => {
    const id = listed[0]!.id;
    const token = api.runtime.services.mediaTokens.mint(id);
    const http = new Client(api.url, AUTHEMAIL_FRONTEND);
    for (const file of [
      "video_1080p.mp4",
      "video_720p.mp4",
      "video_360p.mp4",
      "video_120p.mp4",
      "video.mp4",
    ]) {
      const { body } = await expectError(await http.get(mediaPath(id, file, token)), 404);
      expect(body.detail).toBe("No such rendition.");
    }
  });

  test("401 without a token, 403 for another video's or a tampered one, 404 for other names and unlisted videos", async () => {
    const [first, second] = [listed[0]!.id, listed[1]!.id];
    const http = new Client(api.url);
    await expectError(await http.get(mediaPath(first, "video.mp4")), 401);
    const othersToken = api.runtime.services.mediaTokens.mint(second);
    await expectError(await http.get(mediaPath(first, "video_720p.mp4", othersToken)), 403);
    await expectError(await http.get(mediaPath(first, "video.mp4", "1.AAAAAAAAAAAAAAAAAAAAAA")), 403);
    const token = api.runtime.services.mediaTokens.mint(first);
    for (const file of ["index.m3u8", "video_720p.mp4.mp4", "video_p.mp4", "other.mp4", "video_0720p.mp4"])
      await expectError(await http.get(mediaPath(first, file, token)), 404);
    await expectError(
      await http.get(mediaPath(999_999, "video.mp4", api.runtime.services.mediaTokens.mint(999_999))),
      404,
    );
  });
});

describe("the frontend's Authorization header on the open calls", () => {
  test("a stale key sent along changes nothing: signup, verify, login, reset answer as without it", async () => {
    const { email, password } = await authemailUser(api);
    const stale = { authorization: "Token stale-key-of-an-old-login" };
    const fresh = new AuthemailClient(api);
    const newcomer = uniqueEmail("authemail-stale");
    expect((await fresh.post("/accounts/signup/", { email: newcomer, password }, stale)).status).toBe(201);
    const code = authemailCode(await api.smtp.waitForMail((m) => m.to.includes(newcomer)), "email-verify");
    expect((await fresh.get(`/accounts/signup/verify/${query({ code })}`, stale)).status).toBe(200);
    expect((await fresh.post("/accounts/login/", { email, password }, stale)).status).toBe(200);
    expect((await fresh.post("/accounts/password/reset/", { email }, stale)).status).toBe(201);
  }, 30_000);
});

describe("mounting", () => {
  test("the dialect's routes are documented under their own tag", async () => {
    const doc = (await (await fetch(`${api.url}/openapi/json`)).json()) as {
      tags: Array<{ name: string }>;
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    expect(doc.tags.map((tag) => tag.name)).toContain("Dialect: authemail");
    expect(doc.tags.map((tag) => tag.name)).not.toContain("Dialect: djoser");
    for (const [path, method] of [
      ["/compat/authemail/api/accounts/signup/", "post"],
      ["/compat/authemail/api/accounts/signup/verify/", "get"],
      ["/compat/authemail/api/accounts/login/", "post"],
      ["/compat/authemail/api/accounts/logout/", "get"],
      ["/compat/authemail/api/accounts/password/reset/", "post"],
      ["/compat/authemail/api/accounts/password/reset/verify/", "get"],
      ["/compat/authemail/api/accounts/password/reset/verified/", "post"],
      ["/compat/authemail/api/categories/", "get"],
      ["/compat/authemail/api/videos/", "get"],
      ["/compat/authemail/media/{id}/{file}", "get"],
    ] as const) {
      expect({ path, tags: doc.paths[path]?.[method]?.tags }).toEqual({ path, tags: ["Dialect: authemail"] });
    }
  });

  test("an api without the dialect answers 404 JSON there", async () => {
    const plain = await startTestApi({ COMPAT_DIALECTS: "djoser" }, { consumeEvents: false, shareWith: api });
    try {
      const client = new Client(plain.url);
      await expectError(
        await client.post("/compat/authemail/api/accounts/login/", { email: "a@example.com", password: "x" }),
        404,
      );
      await expectError(await client.get("/compat/authemail/api/videos/"), 404);
    } finally {
      await plain.stop();
    }
  }, 30_000);
});
