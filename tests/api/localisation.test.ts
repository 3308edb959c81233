// Localised titles, descriptions and category names on the real api (PostgreSQL, Redis, the state-event
// consumer): language negotiation (Accept-Language with q-values, ?lang=), the field-by-field fallback,
// Vary / Content-Language, every route that serves the texts, the per-language cache, the admin writes
// and their refusals, search in every language, and what WebSocket clients are told.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { videos, watchProgress } from "../../db/schema/index.ts";
import {
  ADMIN_ENV,
  type AdminVideo,
  adminClient,
  createVideo,
  getVideo,
  sendAs,
  upload,
} from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { DJOSER_ENV, djoserUser } from "../support/djoser.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree, tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestSocket } from "../support/test-socket.ts";
import { TestTranscoder } from "../support/transcoder.ts";

interface Listed {
  id: number;
  title: string;
  description: string;
  category: string;
}
interface AdminCategory {
  id: number;
  name: string;
  translations: Record<string, { name?: string }>;
  video_count: number;
  created_at: string;
}

let api: TestApi;
let admin: Client;
let viewer: Client;
let transcoder: TestTranscoder;
let bunny: AdminVideo;
let sintel: AdminVideo;
let elephants: AdminVideo;
let animationId: number;

/** Has an uploaded video published as a transcoder would (its tree written by hand), and waits for it. */
async function publish(video: AdminVideo): Promise<void> {
  const result = fabricatedResult(4);
  publishTree(api.config.mediaRoot, video.id, video.revision, result);
  await transcoder.reporter.report({
    type: "ready",
    videoId: video.id,
    revision: video.revision,
    result,
    at: new Date().toISOString(),
  });
  await eventually(
    `video ${video.id} to be published`,
    async () => (await getVideo(admin, video.id)).processing_state === "ready",
    8000,
  );
}

async function answer<T>(path: string, headers: Record<string, string> = {}) {
  const response = await viewer.get(path, headers);
  const text = await response.text();
  expect(response.status, `${path}: ${text}`).toBe(200);
  return { body: JSON.parse(text) as T, headers: response.headers };
}

const list = async (headers: Record<string, string> = {}, query = "") =>
  (await answer<Listed[]>(`/api/video/${query}`, headers)).body;
const byId = (entries: Listed[], video: AdminVideo) => entries.find((entry) => entry.id === video.id)!;
const patchVideo = (id: number, body: unknown) => admin.request("PATCH", `/api/admin/videos/${id}`, body);
const patchCategory = (id: number, body: unknown) =>
  admin.request("PATCH", `/api/admin/categories/${id}`, body);

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, ...DJOSER_ENV, SUPPORTED_LANGUAGES: "en,de,fr" });
  [admin, viewer] = await Promise.all([adminClient(api), loggedInClient(api)]);
  transcoder = new TestTranscoder(api);

  bunny = await createVideo(api, admin, {
    title: "Big Buck Bunny",
    description: "A giant rabbit takes revenge.",
    category: "Animation",
    translations: JSON.stringify({
      de: { title: "Großer Hase", description: "Ein riesiges Kaninchen rächt sich." },
      fr: { title: "Grand Lapin" },
    }),
  });
  // German title only: the description falls back to the default language's.
  sintel = await createVideo(api, admin, {
    title: "Sintel",
    description: "A girl searches for her dragon.",
    category: "Fantasy",
    translations: JSON.stringify({ de: { title: "Sintel (deutsch)" } }),
  });
  elephants = await createVideo(api, admin, {
    title: "Elephants Dream",
    description: "Two men in a machine.",
    category: "Animation",
  });
  for (const video of [bunny, sintel, elephants]) await publish(video);

  const categories = (await (await admin.get("/api/admin/categories")).json()) as AdminCategory[];
  animationId = categories.find((category) => category.name === "Animation")!.id;
  const fantasyId = categories.find((category) => category.name === "Fantasy")!.id;
  expect(
    (
      await patchCategory(animationId, {
        translations: { de: { name: "Zeichentrick" }, fr: { name: "Animé" } },
      })
    ).status,
  ).toBe(200);
  expect((await patchCategory(fantasyId, { translations: { de: { name: "Abenteuer" } } })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  TestSocket.closeAll();
  await transcoder?.close();
  await api?.stop();
}, 30_000);

describe("negotiation", () => {
  test("Accept-Language with q-values: the best supported language, a region tag as its language", async () => {
    const { body, headers } = await answer<Listed[]>("/api/video/", {
      "accept-language": "de-CH;q=0.9, en;q=0.5",
    });
    expect(byId(body, bunny)).toMatchObject({
      title: "Großer Hase",
      description: "Ein riesiges Kaninchen rächt sich.",
      category: "Zeichentrick",
    });
    expect(headers.get("content-language")).toBe("de");
    const vary = (headers.get("vary") ?? "").split(",").map((name) => name.trim().toLowerCase());
    expect(vary).toContain("accept-language");
    expect(vary).toContain("origin"); // the CORS plugin's, kept

    expect(byId(await list({ "accept-language": "es, fr;q=0.1, de;q=0.05" }), bunny).title).toBe(
      "Grand Lapin",
    );
    // An unsupported language, `*`, q=0 for every language, a malformed q-value: the default.
    for (const header of ["es", "es, *;q=0.5", "de;q=0, fr;q=0", "de;q=2"]) {
      const { body: english, headers: sent } = await answer<Listed[]>("/api/video/", {
        "accept-language": header,
      });
      expect(byId(english, bunny).title, header).toBe("Big Buck Bunny");
      expect(sent.get("content-language"), header).toBe("en");
    }
    const { headers: plain } = await answer<Listed[]>("/api/video/");
    expect(plain.get("content-language")).toBe("en");
  });

  test("field by field: a missing translation falls back along the accepted languages to the default", async () => {
    const german = await list({ "accept-language": "de" });
    expect(byId(german, sintel)).toMatchObject({
      title: "Sintel (deutsch)",
      description: "A girl searches for her dragon.",
      category: "Abenteuer",
    });
    expect(byId(german, elephants)).toMatchObject({ title: "Elephants Dream", category: "Zeichentrick" });
    // French has no description of Bunny: German comes next, then English.
    const french = await list({ "accept-language": "fr, de;q=0.5" });
    expect(byId(french, bunny)).toMatchObject({
      title: "Grand Lapin",
      description: "Ein riesiges Kaninchen rächt sich.",
      category: "Animé",
    });
    expect(byId(french, sintel)).toMatchObject({ title: "Sintel (deutsch)", category: "Abenteuer" });
    expect(byId(await list({ "accept-language": "fr" }), bunny).description).toBe(
      "A giant rabbit takes revenge.",
    );
  });

  test("?lang= wins over Accept-Language; a region form works; an unsupported one is a 400 naming lang", async () => {
    const { body, headers } = await answer<Listed[]>("/api/video/?lang=en", { "accept-language": "de" });
    expect(byId(body, bunny).title).toBe("Big Buck Bunny");
    expect(headers.get("content-language")).toBe("en");
    expect(byId(await list({}, "?lang=de-AT"), bunny).title).toBe("Großer Hase");
    for (const lang of ["es", "", "de;q=1"]) {
      const { body: error } = await expectError(await viewer.get(`/api/video/?lang=${lang}`), 400);
      expect(error, lang).toEqual({ lang: ["Unsupported language; one of en, de, fr."] });
    }
    await expectError(await viewer.get(`/api/videos/?lang=${"d".repeat(36)}`), 400);
  });
});

describe("every route that serves titles", () => {
  const german = { "accept-language": "de" };

  test("the richer catalogue: pages, one video, rows per category, categories, favorites", async () => {
    const page = (await answer<{ items: Listed[] }>("/api/videos/?limit=100", german)).body;
    expect(byId(page.items, bunny)).toMatchObject({ title: "Großer Hase", category: "Zeichentrick" });
    const one = await answer<Listed>(`/api/videos/${sintel.id}`, german);
    expect(one.body).toMatchObject({
      title: "Sintel (deutsch)",
      description: "A girl searches for her dragon.",
    });
    expect(one.headers.get("content-language")).toBe("de");

    // Rows and categories are alphabetical by the names the reader sees.
    const rows = (
      await answer<Array<{ category: { name: string }; videos: Listed[] }>>(
        "/api/videos/?grouped=category",
        german,
      )
    ).body;
    expect(rows.map((row) => row.category.name)).toEqual(["Abenteuer", "Zeichentrick"]);
    expect(rows[1]!.videos.map((video) => video.title).sort()).toEqual(["Elephants Dream", "Großer Hase"]);
    const englishRows = (await answer<Array<{ category: { name: string } }>>("/api/videos/?grouped=category"))
      .body;
    expect(englishRows.map((row) => row.category.name)).toEqual(["Animation", "Fantasy"]);
    const categories = (
      await answer<Array<{ id: number; name: string; video_count: number }>>("/api/categories/", german)
    ).body;
    expect(categories).toEqual([
      { id: expect.any(Number), name: "Abenteuer", video_count: 1 },
      { id: animationId, name: "Zeichentrick", video_count: 2 },
    ]);

    expect((await viewer.request("PUT", `/api/favorites/${bunny.id}`)).status).toBe(204);
    const favorites = (await answer<{ items: Listed[] }>("/api/favorites/?lang=fr")).body;
    expect(favorites.items.map((video) => video.title)).toEqual(["Grand Lapin"]);
  });

  test("continue watching", async () => {
    const me = ((await (await viewer.get("/api/me/")).json()) as { id: number }).id;
    const at = new Date();
    await api.database.db
      .insert(watchProgress)
      .values({ userId: me, videoId: bunny.id, positionSeconds: 1, clientSentAt: at, updatedAt: at });
    const { body, headers } = await answer<Array<{ id: number; title: string }>>("/api/progress/", german);
    expect(body.map(({ id, title }) => ({ id, title }))).toEqual([{ id: bunny.id, title: "Großer Hase" }]);
    expect(headers.get("content-language")).toBe("de");
    expect(headers.get("vary")?.toLowerCase()).toContain("accept-language");
  });

  test("the djoser dialect: its frontend's Accept-Language, as its original backend served it", async () => {
    const { client } = await djoserUser(api);
    const response = await client.get("/videos/", { "accept-language": "de" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-language")).toBe("de");
    expect(response.headers.get("vary")?.toLowerCase()).toContain("accept-language");
    const listed = (await response.json()) as Listed[];
    // Its rows key on the untranslated category (compat-djoser.test.ts); genre is for reading.
    expect(byId(listed, bunny)).toMatchObject({
      title: "Großer Hase",
      description: "Ein riesiges Kaninchen rächt sich.",
      category: "Animation",
      genre: "Zeichentrick",
    });
    const one = await client.get(`/videos/${sintel.id}/`, { "accept-language": "en" });
    expect(await one.json()).toMatchObject({ title: "Sintel", category: "Fantasy", genre: "Fantasy" });
    expect(one.headers.get("content-language")).toBe("en");
  });

  test("admin answers are not localised: the default fields with every translation", async () => {
    const response = await admin.get(`/api/admin/videos/${bunny.id}`, german);
    expect(response.headers.get("content-language")).toBeNull();
    expect(await response.json()).toMatchObject({
      title: "Big Buck Bunny",
      description: "A giant rabbit takes revenge.",
      translations: {
        de: { title: "Großer Hase", description: "Ein riesiges Kaninchen rächt sich." },
        fr: { title: "Grand Lapin" },
      },
    });
  });
});

describe("search and filters in every language", () => {
  const ids = async (query: string, headers: Record<string, string> = {}) =>
    (await answer<{ items: Listed[] }>(`/api/videos/?limit=100&${query}`, headers)).body.items.map(
      (video) => video.id,
    );

  test("q matches the titles and descriptions of every language, whatever the answer is in", async () => {
    expect(await ids("q=kaninchen")).toEqual([bunny.id]);
    expect(await ids("q=großer%20HASE")).toEqual([bunny.id]);
    expect(await ids("q=lapin")).toEqual([bunny.id]);
    expect(await ids("q=deutsch")).toEqual([sintel.id]);
    expect(await ids("q=dragon")).toEqual([sintel.id]); // the default description, searched too
    expect(await ids("q=machine")).toEqual([elephants.id]);
    const { body } = await answer<{ items: Listed[] }>("/api/videos/?q=kaninchen", {
      "accept-language": "en",
    });
    expect(body.items.map((video) => video.title)).toEqual(["Big Buck Bunny"]);
    // % and _ stay literal in every language.
    expect(await ids("q=gro%25er")).toEqual([]);
    expect(await ids("q=h_se")).toEqual([]);
  });

  test("a match lies inside one text of a served language, though the index holds them all", async () => {
    // The index's text joins Bunny's description and its German title with a newline: not one field.
    expect(await ids(`q=${encodeURIComponent("revenge.\nGroßer")}`)).toEqual([]);
    // A language no longer in SUPPORTED_LANGUAGES stays stored (and indexed), but is not searched.
    await api.database.db
      .update(videos)
      .set({ translations: sql`${videos.translations} || '{"it": {"title": "Sintel la lepre"}}'::jsonb` })
      .where(eq(videos.id, sintel.id));
    expect(await ids("q=lepre")).toEqual([]);
    expect(await ids("q=sintel")).toEqual([sintel.id]);
  });

  test("category= matches a name in any supported language", async () => {
    for (const name of ["animation", "ZEICHENTRICK", "Animé"]) {
      expect((await ids(`category=${encodeURIComponent(name)}`)).sort(), name).toEqual(
        [bunny.id, elephants.id].sort(),
      );
    }
    expect(await ids("category=Abenteuer&q=sintel")).toEqual([sintel.id]);
  });
});

describe("cache", () => {
  test("answers are cached per language: one language's answer never serves another", async () => {
    // An announced edit first: every cached answer goes, whatever the tests before read.
    expect((await patchVideo(elephants.id, { description: "Two men in a big machine." })).status).toBe(200);
    const title = async (headers: Record<string, string>, query = "") =>
      byId(await list(headers, query), elephants).title;
    expect(await title({})).toBe("Elephants Dream");
    expect(await title({ "accept-language": "de" })).toBe("Elephants Dream");

    // Written behind the api's back (nothing announced): only a language not cached yet sees it.
    await api.database.db
      .update(videos)
      .set({ translations: { de: { title: "Elefantentraum" }, fr: { title: "Rêve d'éléphants" } } })
      .where(eq(videos.id, elephants.id));
    expect(await title({ "accept-language": "fr" })).toBe("Rêve d'éléphants");
    expect(await title({ "accept-language": "de" })).toBe("Elephants Dream");
    expect(await title({}, "?lang=de")).toBe("Elephants Dream"); // the same languages, the same entry
    expect(await title({})).toBe("Elephants Dream");

    // An admin's edit is announced and drops every language's answers.
    expect(
      (await patchVideo(elephants.id, { translations: { de: { description: "Zwei Männer." } } })).status,
    ).toBe(200);
    expect(byId(await list({ "accept-language": "de" }), elephants)).toMatchObject({
      title: "Elefantentraum",
      description: "Zwei Männer.",
    });
  });
});

describe("admin writes", () => {
  test("an upload takes translations as JSON text; bad ones are refused naming the field, nothing kept", async () => {
    const bad: Array<[string, Record<string, string[]>]> = [
      ["{not json", { translations: ['Must be JSON: {"de": {"title": "…", "description": "…"}}.'] }],
      ["[]", { translations: ['Must be an object of language → {title, description}, e.g. {"de": {…}}.'] }],
      ['{"es": {"title": "Liebre"}}', { "translations.es": ["Unsupported language; one of de, fr."] }],
      [
        '{"en": {"title": "Hare"}}',
        {
          "translations.en": [
            "en is the default language: its texts are the plain fields (title, description).",
          ],
        },
      ],
      [
        '{"de": {"titel": "Hase"}}',
        { "translations.de.titel": ["Unknown field; one of title, description."] },
      ],
      [
        JSON.stringify({ de: { title: "t".repeat(201) } }),
        { "translations.de.title": ["At most 200 characters."] },
      ],
      [
        JSON.stringify({ de: { description: "d".repeat(5001) } }),
        { "translations.de.description": ["At most 5000 characters."] },
      ],
    ];
    const before = await api.database.db.select({ count: sql<number>`count(*)::int` }).from(videos);
    for (const [translations, expected] of bad) {
      const response = await upload(api, admin, {
        title: "Refused",
        category: "Tests",
        translations,
        file: await tinyMp4Bytes(),
      });
      const { body } = await expectError(response, 400);
      expect(body, translations).toEqual(expected);
    }
    expect(await api.database.db.select({ count: sql<number>`count(*)::int` }).from(videos)).toEqual(before);
  });

  test("PATCH merges: fields sent change, null removes, the rest stays", async () => {
    const video = await createVideo(api, admin, {
      title: "Merge me",
      translations: JSON.stringify({
        de: { title: "Misch mich", description: "Alt." },
        fr: { title: "Mélange" },
      }),
    });
    const translations = async (response: Response) => {
      const text = await response.text();
      expect(response.status, text).toBe(200);
      return (JSON.parse(text) as AdminVideo).translations;
    };
    expect(
      await translations(await patchVideo(video.id, { translations: { de: { description: "Neu." } } })),
    ).toEqual({ de: { title: "Misch mich", description: "Neu." }, fr: { title: "Mélange" } });
    expect(
      await translations(await patchVideo(video.id, { translations: { de: { description: "" }, fr: null } })),
    ).toEqual({ de: { title: "Misch mich" } });
    expect(await translations(await patchVideo(video.id, { title: "Merged" }))).toEqual({
      de: { title: "Misch mich" },
    });
    expect(await translations(await patchVideo(video.id, { translations: { de: { title: null } } }))).toEqual(
      {},
    );
    expect((await getVideo(admin, video.id)).title).toBe("Merged");
  });

  test("PATCH refuses unknown languages, blank titles and a translations that is not an object", async () => {
    const cases: Array<[unknown, Record<string, string[]>]> = [
      [{ xx: { title: "?" } }, { "translations.xx": ["Unsupported language; one of de, fr."] }],
      [{ de: { title: "  " } }, { "translations.de.title": ["May not be blank (null removes it)."] }],
      [
        { de: "Hase" },
        { "translations.de": ["Must be an object of title, description, or null to remove the language."] },
      ],
      [{ de: { title: 7 } }, { "translations.de.title": ["Must be text, or null to remove it."] }],
    ];
    for (const [translations, expected] of cases) {
      const { body } = await expectError(await patchVideo(bunny.id, { translations }), 400);
      expect(body, JSON.stringify(translations)).toEqual(expected);
    }
    for (const translations of ["de", ["de"], null]) {
      const { body } = await expectError(await patchVideo(bunny.id, { translations }), 400);
      expect(body, JSON.stringify(translations)).toEqual({
        translations: ['Must be an object of language → {title, description}, e.g. {"de": {…}}.'],
      });
    }
    const { body } = await expectError(await patchCategory(animationId, { translations: "de" }), 400);
    expect(body).toEqual({ translations: ['Must be an object of language → {name}, e.g. {"de": {…}}.'] });
    expect((await getVideo(admin, bunny.id)).translations).toEqual({
      de: { title: "Großer Hase", description: "Ein riesiges Kaninchen rächt sich." },
      fr: { title: "Grand Lapin" },
    });
  });
});

describe("admin categories", () => {
  test("list, create with translations, 409 for a name that exists in any case, 404, 403", async () => {
    const listed = (await (await admin.get("/api/admin/categories")).json()) as AdminCategory[];
    expect(listed.find((category) => category.id === animationId)).toEqual({
      id: animationId,
      name: "Animation",
      translations: { de: { name: "Zeichentrick" }, fr: { name: "Animé" } },
      video_count: 2,
      created_at: expect.any(String),
    });
    const created = await admin.post("/api/admin/categories", {
      name: " Documentary ",
      translations: { de: { name: "Dokumentarfilm" } },
    });
    expect(created.status).toBe(201);
    const documentary = (await created.json()) as AdminCategory;
    expect(documentary).toMatchObject({
      name: "Documentary",
      translations: { de: { name: "Dokumentarfilm" } },
    });
    expect((await admin.get(`/api/admin/categories/${documentary.id}`)).status).toBe(200);

    const { body } = await expectError(
      await admin.post("/api/admin/categories", { name: "documentary" }),
      409,
    );
    expect(body).toEqual({ name: ["A category of this name exists already (in any letter case)."] });
    await expectError(await patchCategory(documentary.id, { name: "ANIMATION" }), 409);
    await expectError(await patchCategory(987654, { name: "Nobody" }), 404);
    await expectError(await viewer.get("/api/admin/categories"), 403);
    await expectError(await sendAs(api, null, "GET", "/api/admin/categories"), 401);
  });

  test("bad input is a 400 naming the field", async () => {
    const cases: Array<[string, unknown, Record<string, unknown>]> = [
      ["POST", { translations: {} }, { name: ["This field is required."] }],
      ["POST", { name: "  " }, { name: ["This field may not be blank."] }],
      ["POST", { name: "n".repeat(101) }, expect.objectContaining({ name: expect.any(Array) })],
      [
        "PATCH",
        { translations: { es: { name: "Animación" } } },
        { "translations.es": ["Unsupported language; one of de, fr."] },
      ],
      [
        "PATCH",
        { translations: { de: { name: "" } } },
        { "translations.de.name": ["May not be blank (null removes it)."] },
      ],
      [
        "PATCH",
        { translations: { de: { title: "x" } } },
        { "translations.de.title": ["Unknown field; one of name."] },
      ],
      ["PATCH", { slug: "animation" }, { slug: ["This field cannot be edited."] }],
    ];
    for (const [method, body, expected] of cases) {
      const path = method === "POST" ? "/api/admin/categories" : `/api/admin/categories/${animationId}`;
      const { body: error } = await expectError(await admin.request(method, path, body), 400);
      expect(error as Record<string, unknown>, `${method} ${JSON.stringify(body)}`).toEqual(expected);
    }
  });

  test("an edit shows at once in every video of the category, and sockets are told", async () => {
    const socket = await TestSocket.open(api, viewer);
    expect((await patchCategory(animationId, { translations: { de: { name: "Trickfilm" } } })).status).toBe(
      200,
    );
    expect(await socket.next((message) => message.type === "category.updated")).toEqual({
      type: "category.updated",
      id: animationId,
    });
    const german = await list({ "accept-language": "de" });
    expect([byId(german, bunny).category, byId(german, elephants).category]).toEqual([
      "Trickfilm",
      "Trickfilm",
    ]);
    // The French name stayed (a merge), and removing it brings back the default.
    expect(byId(await list({ "accept-language": "fr" }), bunny).category).toBe("Animé");
    expect((await patchCategory(animationId, { translations: { fr: null } })).status).toBe(200);
    expect(byId(await list({ "accept-language": "fr" }), bunny).category).toBe("Animation");
  });
});

describe("WebSocket", () => {
  test("catalogue events carry ids, never texts: a translation edit is a video.updated to re-read", async () => {
    const socket = await TestSocket.open(api, viewer);
    expect(
      (await patchVideo(sintel.id, { translations: { fr: { title: "Sintel (français)" } } })).status,
    ).toBe(200);
    expect(
      await socket.next((message) => message.type === "video.updated" && message.id === sintel.id),
    ).toEqual({
      type: "video.updated",
      id: sintel.id,
    });
    expect(byId(await list({ "accept-language": "fr" }), sintel).title).toBe("Sintel (français)");
  });
});

describe("OpenAPI", () => {
  test("every localised route documents ?lang=; the admin category routes have their tag", async () => {
    const doc = (await (await fetch(`${api.url}/openapi/json`)).json()) as {
      paths: Record<
        string,
        Record<string, { tags?: string[]; parameters?: Array<{ name: string; in: string }> }>
      >;
    };
    for (const path of [
      "/api/video/",
      "/api/categories/",
      "/api/videos/",
      "/api/videos/{id}",
      "/api/favorites/",
      "/api/progress/",
    ]) {
      const parameters = doc.paths[path]?.get?.parameters ?? [];
      expect(
        parameters.some((parameter) => parameter.name === "lang" && parameter.in === "query"),
        path,
      ).toBe(true);
    }
    for (const [path, method] of [
      ["/api/admin/categories", "get"],
      ["/api/admin/categories", "post"],
      ["/api/admin/categories/{id}", "get"],
      ["/api/admin/categories/{id}", "patch"],
    ] as const) {
      expect(doc.paths[path]?.[method]?.tags, `${method} ${path}`).toEqual(["Admin: categories"]);
    }
  });
});
