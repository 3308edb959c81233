// The djoser dialect's contract over HTTP against the real api: every call its frontend makes
// (shared/dialects/djoser.md), with the status codes, the fields the frontend reads and the error
// shapes it branches on. The journey and the attacks are in compat-djoser-journey.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { categories, videos } from "../../db/schema/index.ts";
import { expectError } from "../support/assertions.ts";
import {
  type CatalogueVideo,
  COMPAT_PUBLIC_URL as PUBLIC_URL,
  publishedVideo,
  seedCatalogue,
  startCompatApi,
} from "../support/compat.ts";
import { DJOSER_ENV, DJOSER_FRONTEND, DjoserClient, djoserLinkParts, djoserUser } from "../support/djoser.ts";
import { fabricatedResult } from "../support/fixtures.ts";
import { Client, STRONG_PASSWORD, startTestApi, type TestApi, uniqueEmail } from "../support/test-api.ts";

let api: TestApi;
let viewer: DjoserClient;
let listed: CatalogueVideo[];

beforeAll(async () => {
  api = await startCompatApi({ ...DJOSER_ENV, PUBLIC_URL });
  const seeded = await seedCatalogue(api, "Documentary", ["First light", "Second wind"]);
  listed = seeded.listed;
  // Before the first read, so no cached answer predates it.
  await api.database.db
    .update(categories)
    .set({ translations: { de: { name: "Dokumentation" } } })
    .where(eq(categories.id, seeded.category.id));
  viewer = (await djoserUser(api)).client;
}, 60_000);
afterAll(() => api?.stop());

describe("auth/users/ (register)", () => {
  test("201 {email}; the activation mail links to the frontend's /auth/activate/<uid>/<token>", async () => {
    const email = uniqueEmail("djoser-register");
    const client = new DjoserClient(api);
    const response = await client.post("/auth/users/", {
      email,
      password: STRONG_PASSWORD,
      re_password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ email });
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email));
    expect(mail.subject).toBe("Activate your Videoflix account");
    const { uid, token } = djoserLinkParts(mail, "activate");
    expect(uid).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeGreaterThan(20);
    expect(mail.links.some((link) => link.includes("/pages/auth/"))).toBe(false);
  });

  test("400 with djoser's field names: re_password for a mismatch, password for a weak one", async () => {
    const client = new DjoserClient(api);
    const email = uniqueEmail("djoser-bad");
    const mismatch = await expectError(
      await client.post("/auth/users/", {
        email,
        password: STRONG_PASSWORD,
        re_password: "other-Passphrase-9",
      }),
      400,
    );
    expect(Object.keys(mismatch.body)).toEqual(["re_password"]);
    const weak = await expectError(
      await client.post("/auth/users/", { email, password: "password", re_password: "password" }),
      400,
    );
    expect(weak.body.password).toBeDefined();
    await expectError(await client.post("/auth/users/", { email }), 400);
  });

  test("an address that already has an account gets the same 201 (its owner a notice from the frontend)", async () => {
    const { email } = await djoserUser(api);
    const response = await new DjoserClient(api).post("/auth/users/", {
      email,
      password: STRONG_PASSWORD,
      re_password: STRONG_PASSWORD,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ email });
    const notice = await api.smtp.waitForMail(
      (m) => m.to.includes(email) && m.subject === "Your Videoflix account",
    );
    expect(notice.links).toContain(`${DJOSER_FRONTEND}/auth/login`);
    expect(notice.links).toContain(`${DJOSER_FRONTEND}/auth/forgot`);
  });
});

describe("auth/users/activation/", () => {
  test("204, then 400 {token} for the used link; 400 for a garbled one", async () => {
    const email = uniqueEmail("djoser-activate");
    const client = new DjoserClient(api);
    await client.post("/auth/users/", { email, password: STRONG_PASSWORD, re_password: STRONG_PASSWORD });
    const parts = djoserLinkParts(await api.smtp.waitForMail((m) => m.to.includes(email)), "activate");
    const activated = await client.post("/auth/users/activation/", parts);
    expect(activated.status).toBe(204);
    expect(await activated.text()).toBe("");
    const again = await expectError(await client.post("/auth/users/activation/", parts), 400);
    expect(again.body).toEqual({ token: ["Invalid token for given user."] });
    await expectError(await client.post("/auth/users/activation/", { uid: "!!", token: "x" }), 400);
    await expectError(await client.post("/auth/users/activation/", {}), 400);
  });
});

describe("auth/jwt/create/ (login)", () => {
  test("200 {access, refresh}; the access token is a JWT the signed-in routes take as a Bearer", async () => {
    const { email, password } = await djoserUser(api);
    const client = new DjoserClient(api);
    const tokens = await client.login(email, password);
    expect(Object.keys(tokens).sort()).toEqual(["access", "refresh"]);
    expect(tokens.access.split(".")).toHaveLength(3);
    expect((await client.get("/videos/")).status).toBe(200);
  });

  test("401 {detail, code: no_active_account} for a wrong password, an unknown address, an inactive account", async () => {
    const { email } = await djoserUser(api);
    const inactive = uniqueEmail("djoser-inactive");
    const client = new DjoserClient(api);
    await client.post("/auth/users/", {
      email: inactive,
      password: STRONG_PASSWORD,
      re_password: STRONG_PASSWORD,
    });
    for (const credentials of [
      { email, password: `${STRONG_PASSWORD}x` },
      { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
      { email: inactive, password: STRONG_PASSWORD },
    ]) {
      const { body } = await expectError(await client.post("/auth/jwt/create/", credentials), 401);
      expect(body).toEqual({
        detail: "No active account found with the given credentials",
        code: "no_active_account",
      });
    }
  });
});

describe("auth/jwt/refresh/", () => {
  test("200 {access} for the same refresh token, again and again (the frontend never stores a new one)", async () => {
    const { client } = await djoserUser(api);
    const { refresh } = client.tokens!;
    for (let i = 0; i < 5; i++) {
      const response = await client.post("/auth/jwt/refresh/", { refresh });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access: string };
      expect(Object.keys(body)).toEqual(["access"]);
      client.tokens = { access: body.access, refresh };
      expect((await client.get("/videos/")).status).toBe(200);
    }
  });

  test("a bad refresh token answers 400 {detail, code: token_not_valid}, never 401 (the interceptor would loop)", async () => {
    const client = new DjoserClient(api);
    for (const refresh of ["not-a-token-we-issued", "x".repeat(300)]) {
      const { body } = await expectError(await client.post("/auth/jwt/refresh/", { refresh }), 400);
      expect(body).toEqual({ detail: "Token is invalid or expired", code: "token_not_valid" });
    }
    await expectError(await client.post("/auth/jwt/refresh/", {}), 400);
  });
});

describe("auth/users/reset_password/ and reset_password_confirm/", () => {
  test("204 for a known and an unknown address; the mail links to /auth/reset-password/<uid>/<token>", async () => {
    const { email } = await djoserUser(api);
    const client = new DjoserClient(api);
    for (const address of [email, uniqueEmail("nobody"), "not an address"]) {
      const response = await client.post(
        "/auth/users/reset_password/",
        { email: address },
        { "x-csrftoken": "" },
      );
      expect(response.status).toBe(204);
    }
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    const parts = djoserLinkParts(mail, "reset-password");

    const mismatch = await expectError(
      await client.post("/auth/users/reset_password_confirm/", {
        ...parts,
        new_password: "a-Completely-new-passphrase-7",
        re_new_password: "something-else-entirely-8",
      }),
      400,
    );
    expect(Object.keys(mismatch.body)).toEqual(["re_new_password"]);
    const confirmed = await client.post("/auth/users/reset_password_confirm/", {
      ...parts,
      new_password: "a-Completely-new-passphrase-7",
      re_new_password: "a-Completely-new-passphrase-7",
    });
    expect(confirmed.status).toBe(204);
    await expectError(
      await client.post("/auth/users/reset_password_confirm/", {
        ...parts,
        new_password: "a-Completely-new-passphrase-7",
        re_new_password: "a-Completely-new-passphrase-7",
      }),
      400,
    );
  });
});

interface DjoserVideo {
  id: number;
  title: string;
  description: string;
  category: string;
  genre: string;
  is_trailer: boolean;
  thumb: string | null;
  hero_frame: string | null;
  video_file: string | null;
  source_url: string | null;
  source_variants: Array<{ path: string; height: number }>;
  release: string;
  director: string;
  license_type: string;
  license_url: string;
  duration: number | null;
  created_at: string;
}

const expectedVideo = (video: (typeof listed)[number], genre = "Documentary"): DjoserVideo => ({
  id: video.id,
  title: video.title,
  description: `About ${video.title}`,
  category: "Documentary",
  genre,
  is_trailer: false,
  thumb: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
  hero_frame: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
  // No rendition of this build has a progressive MP4 (api/compat/media.ts).
  video_file: null,
  source_url: null,
  source_variants: [],
  release: video.createdAt.toISOString().slice(0, 10),
  director: "",
  license_type: "",
  license_url: "",
  duration: 120,
  created_at: video.createdAt.toISOString(),
});

describe("videos/, videos/<id>/, trailers/", () => {
  test("videos/: every listed video, newest first, in the original serializer's fields", async () => {
    const response = await viewer.get("/videos/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([...listed].reverse().map((video) => expectedVideo(video)));
  });

  test("category stays the untranslated row key in German (the frontend labels its rows); genre is German", async () => {
    // The original's category was a choice value ("Documentary") that modeltranslation left alone; the
    // frontend files a video under the row of that value, and any other value under Action.
    const german = { "accept-language": "de" };
    const all = await viewer.get("/videos/", german);
    expect(all.headers.get("content-language")).toBe("de");
    expect(await all.json()).toEqual(
      [...listed].reverse().map((video) => expectedVideo(video, "Dokumentation")),
    );
    const one = await viewer.get(`/videos/${listed[0]!.id}/`, german);
    expect(await one.json()).toEqual(expectedVideo(listed[0]!, "Dokumentation"));
    const hero = await viewer.get("/trailers/", german);
    expect(await hero.json()).toEqual([expectedVideo(listed.at(-1)!, "Dokumentation")]);
  });

  test("videos/<id>/: one video; 404 {detail} for one that is not listed", async () => {
    const response = await viewer.get(`/videos/${listed[0]!.id}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expectedVideo(listed[0]!));
    await expectError(await viewer.get("/videos/999999/"), 404);
    await expectError(await viewer.get("/videos/abc/"), 400);
  });

  test("trailers/: the newest video, so that the hero has one", async () => {
    const response = await viewer.get("/trailers/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([expectedVideo(listed.at(-1)!)]);
  });

  test("401 without a Bearer, with a garbled one and with an expired one", async () => {
    const anonymous = new DjoserClient(api);
    for (const path of [
      "/videos/",
      `/videos/${listed[0]!.id}/`,
      "/trailers/",
      "/progress/get_progress?video=1",
    ]) {
      await expectError(await anonymous.get(path), 401);
      await expectError(await anonymous.get(path, { authorization: "Bearer garbage" }), 401);
    }
    const { client } = await djoserUser(api);
    api.shiftClock(api.config.accessTokenTtlSeconds + 60);
    try {
      await expectError(await client.get("/videos/"), 401);
    } finally {
      api.shiftClock(-(api.config.accessTokenTtlSeconds + 60));
    }
  });
});

describe("progress/ and progress/get_progress", () => {
  test("POST 201 {video, position, duration}; get_progress reads it back, with and without the slash", async () => {
    const { client } = await djoserUser(api);
    const video = listed[0]!.id;
    const saved = await client.post("/progress/", { video, position: 42.75, duration: 119.9 });
    expect(saved.status).toBe(201);
    expect(await saved.json()).toEqual({ video, position: 42.75, duration: 120 });
    for (const path of [`/progress/get_progress?video=${video}`, `/progress/get_progress/?video=${video}`]) {
      const response = await client.get(path);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ video, position: 42.75, duration: 120 });
    }
    // The player's `ended`: position 0.
    expect((await client.post("/progress/", { video, position: 0, duration: 0 })).status).toBe(201);
    expect(await (await client.get(`/progress/get_progress?video=${video}`)).json()).toEqual({
      video,
      position: 0,
      duration: 120,
    });
  });

  test("a position at the very end reads as 0: the frontend's pause and ended saves race as a video ends", async () => {
    // One save per user and video: two in the same millisecond would keep the first (client time decides).
    const [alice, bob] = [(await djoserUser(api)).client, (await djoserUser(api)).client];
    const [first, second] = [listed[0]!.id, listed[1]!.id];
    const readBack = async (client: DjoserClient, video: number) =>
      (await (await client.get(`/progress/get_progress?video=${video}`)).json()).position;
    // The `pause` at the end landing after the `ended` 0: the frontend would seek to the end and stop.
    const atEnd = await alice.post("/progress/", {
      video: first,
      position: 120.021333,
      duration: 120.021333,
    });
    expect(await atEnd.json()).toEqual({ video: first, position: 0, duration: 120 });
    expect(await readBack(alice, first)).toBe(0);
    expect((await bob.post("/progress/", { video: first, position: 119.2, duration: 120.02 })).status).toBe(
      201,
    );
    expect(await readBack(bob, first)).toBe(0);
    // More than a second before the end is a place to resume from.
    expect(
      (await alice.post("/progress/", { video: second, position: 118.5, duration: 120.02 })).status,
    ).toBe(201);
    expect(await readBack(alice, second)).toBe(118.5);
  });

  test("zeros for a video never started; each user reads only their own", async () => {
    const [alice, bob] = [(await djoserUser(api)).client, (await djoserUser(api)).client];
    const video = listed[1]!.id;
    expect((await alice.post("/progress/", { video, position: 10 })).status).toBe(201);
    expect(await (await bob.get(`/progress/get_progress?video=${video}`)).json()).toEqual({
      video,
      position: 0,
      duration: 0,
    });
  });

  test("400 for a missing or bad video or position, 404 for a video that is not listed", async () => {
    await expectError(await viewer.get("/progress/get_progress"), 400);
    await expectError(await viewer.get("/progress/get_progress?video=abc"), 400);
    await expectError(await viewer.post("/progress/", { position: 3 }), 400);
    await expectError(await viewer.post("/progress/", { video: listed[0]!.id, position: -1 }), 400);
    await expectError(await viewer.post("/progress/", { video: listed[0]!.id, position: 99_999 }), 400);
    await expectError(await viewer.post("/progress/", { video: 999_999, position: 3 }), 404);
  });
});

describe("the frontend's stale Authorization header", () => {
  test("the public calls ignore it: register, activation, login, refresh, reset answer as without it", async () => {
    const { email, password, client } = await djoserUser(api);
    const stale = { authorization: "Bearer eyJ.stale.token" };
    const fresh = new DjoserClient(api);
    const newcomer = uniqueEmail("djoser-stale");
    expect(
      (await fresh.post("/auth/users/", { email: newcomer, password, re_password: password }, stale)).status,
    ).toBe(201);
    const parts = djoserLinkParts(await api.smtp.waitForMail((m) => m.to.includes(newcomer)), "activate");
    expect((await fresh.post("/auth/users/activation/", parts, stale)).status).toBe(204);
    expect((await fresh.post("/auth/jwt/create/", { email, password }, stale)).status).toBe(200);
    expect((await fresh.post("/auth/jwt/refresh/", { refresh: client.tokens!.refresh }, stale)).status).toBe(
      200,
    );
    expect((await fresh.post("/auth/users/reset_password/", { email }, stale)).status).toBe(204);
  });
});

describe("mounting", () => {
  test("the dialect's routes are documented under their own tag", async () => {
    const doc = (await (await fetch(`${api.url}/openapi/json`)).json()) as {
      tags: Array<{ name: string }>;
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    expect(doc.tags.map((tag) => tag.name)).toContain("Dialect: djoser");
    for (const [path, method] of [
      ["/compat/djoser/api/auth/users/", "post"],
      ["/compat/djoser/api/auth/jwt/create/", "post"],
      ["/compat/djoser/api/auth/jwt/refresh/", "post"],
      ["/compat/djoser/api/videos/", "get"],
      ["/compat/djoser/api/progress/", "post"],
    ] as const) {
      expect({ path, tags: doc.paths[path]?.[method]?.tags }).toEqual({ path, tags: ["Dialect: djoser"] });
    }
  });

  test("an api without COMPAT_DIALECTS answers 404 JSON there, and documents no dialect", async () => {
    const plain = await startTestApi({}, { consumeEvents: false, shareWith: api });
    try {
      const client = new Client(plain.url);
      const login = { email: "a@example.com", password: "x" };
      await expectError(await client.post("/compat/djoser/api/auth/jwt/create/", login), 404);
      await expectError(await client.get("/compat/djoser/api/videos/"), 404);
      const doc = (await (await fetch(`${plain.url}/openapi/json`)).json()) as {
        tags: Array<{ name: string }>;
      };
      expect(doc.tags.map((tag) => tag.name)).not.toContain("Dialect: djoser");
    } finally {
      await plain.stop();
    }
  }, 30_000);
});

describe("media: the progressive MP4s of the transcoder, signed", () => {
  test("video_file, source_url and source_variants are the rungs' signed MP4 URLs, tallest first", async () => {
    const [drama] = await api.database.db.insert(categories).values({ name: "Drama with MP4" }).returning();
    const video = await publishedVideo(api, "With MP4", drama!.id);
    const result = fabricatedResult(120);
    const renditions = result.renditions.map((rendition) => ({
      ...rendition,
      mp4: { path: `${rendition.name}/progressive.mp4`, size: 4096 },
    }));
    await api.database.db.update(videos).set({ renditions }).where(eq(videos.id, video.id));
    const response = await viewer.get(`/videos/${video.id}/`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as DjoserVideo;
    const signed = (rung: string) =>
      new RegExp(`^${PUBLIC_URL}/api/video/${video.id}/${rung}/progressive\\.mp4\\?v=1&token=[^&]+$`);
    expect(body.video_file).toMatch(signed("180p"));
    // No 720p rung: the player starts with the tallest there is.
    expect(body.source_url).toMatch(signed("180p"));
    expect(body.source_variants.map((variant) => variant.height)).toEqual([180, 144]);
    expect(body.source_variants[1]!.path).toMatch(signed("144p"));
  });
});
