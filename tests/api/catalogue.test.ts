// The viewers' catalogue and favorites on the real api (PostgreSQL, Redis, the state-event consumer).
// Videos become ready as in production: uploaded by the admin, then a transcoder's `processing` and
// `ready` reports through its own TranscodeReporter (the files it would publish written by hand).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { videoChanges } from "../../contract/video-changes.ts";
import { videos, watchProgress } from "../../db/schema/index.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import {
  ADMIN_ENV,
  type AdminVideo,
  adminClient,
  createVideo,
  replaceFile,
  sendAs,
} from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree, tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const PUBLIC_URL = "http://api.videoflix.test";

interface VideoflixVideo {
  id: number;
  created_at: string;
  title: string;
  description: string;
  thumbnail_url: string | null;
  category: string;
}
interface CatalogueVideo extends VideoflixVideo {
  category_id: number;
  duration_seconds: number | null;
  renditions: Array<{ name: string; width: number; height: number; bandwidth: number }>;
  playable: boolean;
  playable_at: string | null;
  complete: boolean;
  progress: {
    position_seconds: number;
    duration_seconds: number | null;
    percent: number;
    updated_at: string;
  } | null;
  is_favorite: boolean;
}
interface Page {
  items: CatalogueVideo[];
  next_cursor: string | null;
}
interface CategoryRow {
  category: { id: number; name: string };
  videos: CatalogueVideo[];
}

let api: TestApi;
let admin: Client;
let alice: Client;
let bob: Client;
let bull: Redis;
let plain: Redis;
let subscriber: Redis;
let reporter: TranscodeReporter;
const announced: Array<{ type: string; id: number; state?: string }> = [];

/** Listed videos in creation order (oldest first), and the ones that must never be listed. */
const listed: AdminVideo[] = [];
const unlisted: AdminVideo[] = [];

const at = () => new Date().toISOString();

async function report(
  event: TranscodeReport,
  until: (m: { type: string; id: number; state?: string }) => boolean,
) {
  await reporter.report(event);
  await eventually(
    `${event.type} of video ${event.videoId} to be applied`,
    async () => announced.some(until),
    8000,
  );
}

/** Uploads a video and has it transcoded (as far as the api can tell): it is then listed. */
async function readyVideo(title: string, category: string): Promise<AdminVideo> {
  const video = await createVideo(api, admin, { title, category, description: `About ${title}` });
  publishTree(api.config.mediaRoot, video.id, 1);
  const base = { videoId: video.id, revision: 1, at: at() };
  await report({ ...base, type: "processing", attempt: 1, worker: "test" }, (m) => m.id === video.id);
  await report(
    {
      ...base,
      type: "ready",
      result: fabricatedResult(4),
    },
    (m) => m.id === video.id && m.state === "ready",
  );
  return video;
}

async function json<T>(client: Client, path: string): Promise<T> {
  const response = await client.get(path);
  const text = await response.text();
  expect(response.status, `${path}: ${text}`).toBe(200);
  return JSON.parse(text) as T;
}

const newestFirst = (list: AdminVideo[]) => [...list].reverse().map((v) => v.id);

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, PUBLIC_URL });
  [admin, alice, bob] = await Promise.all([adminClient(api), loggedInClient(api), loggedInClient(api)]);
  bull = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  plain = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  reporter = new TranscodeReporter(bull, plain);
  subscriber = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on("message", (_channel, message) => announced.push(JSON.parse(message)));
  await subscriber.subscribe(videoChanges.nameOn(subscriber));

  listed.push(await readyVideo("Alpha: 100% real", "Drama"));
  listed.push(await readyVideo("beta_test", "Comedy"));
  // Never transcoded, and failed: neither is listed.
  unlisted.push(await createVideo(api, admin, { title: "Pending gamma", category: "Drama" }));
  const broken = await createVideo(api, admin, { title: "Broken delta", category: "Horror" });
  await report(
    { type: "error", videoId: broken.id, revision: 1, message: "no video stream", at: at() },
    (m) => m.id === broken.id && m.state === "error",
  );
  unlisted.push(broken);
  // Ready, then its file replaced: it stays listed while the new revision is transcoded.
  const retranscoding = await readyVideo("Epsilon ALPHA", "Drama");
  expect((await replaceFile(api, admin, retranscoding.id, await tinyMp4Bytes())).status).toBe(202);
  listed.push(retranscoding);
  for (let n = 1; n <= 8; n++) listed.push(await readyVideo(`Paging ${n}`, n % 2 ? "Comedy" : "Drama"));
}, 60_000);

afterAll(async () => {
  await reporter?.close();
  subscriber?.disconnect();
  bull?.disconnect();
  plain?.disconnect();
  await api?.stop();
}, 30_000);

describe("signed out", () => {
  test.each([
    ["GET", "/api/video/"],
    ["GET", "/api/categories/"],
    ["GET", "/api/videos/"],
    ["GET", "/api/videos/?grouped=category"],
    ["GET", "/api/videos/1"],
    ["GET", "/api/favorites/"],
    ["PUT", "/api/favorites/1"],
    ["DELETE", "/api/favorites/1"],
  ])("%s %s → 401", async (method, path) => {
    const response = await sendAs(api, null, method, path);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: "Authentication credentials were not provided." });
  });
});

describe("Videoflix list", () => {
  test("GET /api/video/ → the listed videos, newest first, in the client's shape", async () => {
    const list = await json<VideoflixVideo[]>(alice, "/api/video/");
    expect(list.map((v) => v.id)).toEqual(newestFirst(listed));
    for (const video of list) {
      const created = listed.find((v) => v.id === video.id)!;
      expect(video).toEqual({
        id: created.id,
        created_at: created.created_at,
        title: created.title,
        description: `About ${created.title}`,
        thumbnail_url: `${PUBLIC_URL}/api/video/${created.id}/thumbnails/poster-640.jpg`,
        category: created.category,
      });
      expect(new Date(video.created_at).toISOString()).toBe(video.created_at);
    }
    for (const hidden of unlisted) expect(list.some((v) => v.id === hidden.id)).toBe(false);
  });
});

describe("richer catalogue", () => {
  test("GET /api/categories/ counts listed videos only, alphabetical", async () => {
    const categories = await json<Array<{ id: number; name: string; video_count: number }>>(
      alice,
      "/api/categories/",
    );
    expect(categories.map(({ name, video_count }) => ({ name, video_count }))).toEqual([
      { name: "Comedy", video_count: 5 },
      { name: "Drama", video_count: 6 },
    ]);
  });

  test("an item adds duration, renditions, progress and is_favorite", async () => {
    const video = listed[0]!;
    const item = await json<CatalogueVideo>(alice, `/api/videos/${video.id}`);
    expect(item).toEqual({
      id: video.id,
      created_at: video.created_at,
      title: video.title,
      description: `About ${video.title}`,
      thumbnail_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
      category: "Drama",
      category_id: expect.any(Number),
      duration_seconds: 4,
      renditions: [
        { name: "180p", width: 320, height: 180, bandwidth: 420_000 },
        { name: "144p", width: 256, height: 144, bandwidth: 260_000 },
      ],
      playable: true,
      playable_at: expect.any(String),
      complete: true,
      progress: null,
      is_favorite: false,
    });
    for (const hidden of unlisted) expect((await alice.get(`/api/videos/${hidden.id}`)).status).toBe(404);
    expect((await alice.get("/api/videos/999999")).status).toBe(404);
    expect((await alice.get("/api/videos/abc")).status).toBe(400);
  });

  test("category filter by name (any case) or id; unknown → empty", async () => {
    const drama = listed.filter((v) => v.category === "Drama");
    const byName = await json<Page>(alice, "/api/videos/?category=dRaMa&limit=100");
    expect(byName.items.map((v) => v.id)).toEqual(newestFirst(drama));
    expect(byName.next_cursor).toBeNull();
    const byId = await json<Page>(alice, `/api/videos/?category=${byName.items[0]!.category_id}&limit=100`);
    expect(byId.items.map((v) => v.id)).toEqual(newestFirst(drama));
    expect(await json<Page>(alice, "/api/videos/?category=Horror")).toEqual({ items: [], next_cursor: null });
    expect(await json<Page>(alice, "/api/videos/?category=Nope")).toEqual({ items: [], next_cursor: null });
  });

  test("q searches titles case-insensitively; % and _ are literal", async () => {
    const titles = async (q: string) =>
      (await json<Page>(alice, `/api/videos/?q=${encodeURIComponent(q)}&limit=100`)).items.map(
        (v) => v.title,
      );
    expect(await titles("alpha")).toEqual(["Epsilon ALPHA", "Alpha: 100% real"]);
    expect(await titles("%")).toEqual(["Alpha: 100% real"]);
    expect(await titles("0%")).toEqual(["Alpha: 100% real"]);
    expect(await titles("_")).toEqual(["beta_test"]);
    expect(await titles("a_t")).toEqual(["beta_test"]);
    expect(await titles("beta%test")).toEqual([]);
    expect(await titles("\\")).toEqual([]);
    expect(await titles("gamma")).toEqual([]); // not listed
    expect(await titles("paging 3")).toEqual(["Paging 3"]);
  });

  test("cursor pagination visits every video once, newest first", async () => {
    for (const query of ["limit=3", "limit=1", "limit=2&category=Comedy", "limit=4&q=paging"]) {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
        const page: Page = await json<Page>(alice, `/api/videos/?${query}${suffix}`);
        expect(page.items.length).toBeLessThanOrEqual(Number(/limit=(\d+)/.exec(query)![1]));
        seen.push(...page.items.map((v) => v.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 50);
      const expected = (await json<Page>(alice, `/api/videos/?${query.replace(/limit=\d+/, "limit=100")}`))
        .items;
      expect(expected.length).toBeGreaterThan(0);
      expect(seen).toEqual(expected.map((v) => v.id));
      expect(new Set(seen).size).toBe(seen.length);
    }
    const all = await json<Page>(alice, "/api/videos/");
    expect(all.items.map((v) => v.id)).toEqual(newestFirst(listed)); // 11 listed: one page of the default 20
    expect(all.next_cursor).toBeNull();
  });

  test("bad paging input → 400 with a JSON error", async () => {
    const forged = Buffer.from(JSON.stringify(["not a time'; drop table videos", 1])).toString("base64url");
    // Elysia reports a coerced query number out of range without its path: the message says it then.
    const expected: Array<[string, Record<string, unknown>]> = [
      ["limit=0", { detail: "Expected integer to be greater or equal to 1" }],
      ["limit=101", { detail: "Expected integer to be less or equal to 100" }],
      ["limit=x", { limit: [expect.any(String)] }],
      ["cursor=bm9wZQ", { cursor: ["Invalid cursor."] }],
      ["cursor=%25%25", { cursor: ["Invalid cursor."] }],
      [`cursor=${forged}`, { cursor: ["Invalid cursor."] }],
      ["grouped=year", { grouped: [expect.any(String)] }],
      ["grouped=category&cursor=abc", { cursor: ["Rows per category are not paginated."] }],
    ];
    for (const [query, body] of expected) {
      const response = await alice.get(`/api/videos/?${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.json(), query).toEqual(body);
    }
    expect((await alice.get("/api/favorites/?cursor=bm9wZQ")).status).toBe(400);
  });

  test("grouped=category → one row per category, alphabetical, newest first, up to limit", async () => {
    const rows = await json<CategoryRow[]>(alice, "/api/videos/?grouped=category&limit=3");
    expect(rows.map((row) => row.category.name)).toEqual(["Comedy", "Drama"]);
    for (const row of rows) {
      const inCategory = listed.filter((v) => v.category === row.category.name);
      expect(row.videos.map((v) => v.id)).toEqual(newestFirst(inCategory).slice(0, 3));
      expect(row.videos.every((v) => v.category_id === row.category.id && v.is_favorite === false)).toBe(
        true,
      );
    }
    const searched = await json<CategoryRow[]>(alice, "/api/videos/?grouped=category&q=alpha");
    expect(searched).toHaveLength(1);
    expect(searched[0]!.videos.map((v) => v.title)).toEqual(["Epsilon ALPHA", "Alpha: 100% real"]);
  });
});

describe("favorites", () => {
  test("PUT and DELETE are idempotent; 404 for a video that is not listed", async () => {
    const [first, second] = [listed[1]!, listed[4]!];
    for (const video of [first, second, first]) {
      const response = await alice.request("PUT", `/api/favorites/${video.id}`);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
      await Bun.sleep(5); // distinct added-at times
    }
    // Re-adding keeps the original time: most recently *added* first.
    const page = await json<Page>(alice, "/api/favorites/");
    expect(page.items.map((v) => v.id)).toEqual([second.id, first.id]);
    expect(page.items.every((v) => v.is_favorite)).toBe(true);
    expect(page.next_cursor).toBeNull();
    const paged = await json<Page>(alice, "/api/favorites/?limit=1");
    expect(paged.items.map((v) => v.id)).toEqual([second.id]);
    const rest = await json<Page>(alice, `/api/favorites/?limit=1&cursor=${paged.next_cursor}`);
    expect(rest).toMatchObject({ items: [{ id: first.id }], next_cursor: null });

    for (let i = 0; i < 2; i++) {
      expect((await alice.request("DELETE", `/api/favorites/${second.id}`)).status).toBe(204);
    }
    expect((await json<Page>(alice, "/api/favorites/")).items.map((v) => v.id)).toEqual([first.id]);

    for (const hidden of [...unlisted.map((v) => v.id), 999999]) {
      expect((await alice.request("PUT", `/api/favorites/${hidden}`)).status).toBe(404);
      expect((await alice.request("DELETE", `/api/favorites/${hidden}`)).status).toBe(404);
    }
    expect((await alice.request("PUT", "/api/favorites/0")).status).toBe(400);
  });

  test("each user sees and changes only their own favorites", async () => {
    const mine = listed[1]!;
    const bobs = listed[2]!;
    expect((await bob.request("PUT", `/api/favorites/${bobs.id}`)).status).toBe(204);
    // Bob removing Alice's favorite from his own list leaves hers alone.
    expect((await bob.request("DELETE", `/api/favorites/${mine.id}`)).status).toBe(204);
    expect((await json<Page>(alice, "/api/favorites/")).items.map((v) => v.id)).toEqual([mine.id]);
    expect((await json<Page>(bob, "/api/favorites/")).items.map((v) => v.id)).toEqual([bobs.id]);

    const flags = async (client: Client) =>
      Object.fromEntries(
        (await json<Page>(client, "/api/videos/?limit=100")).items.map((v) => [v.id, v.is_favorite]),
      );
    const [aliceFlags, bobFlags] = [await flags(alice), await flags(bob)];
    expect(Object.keys(aliceFlags).filter((id) => aliceFlags[id])).toEqual([String(mine.id)]);
    expect(Object.keys(bobFlags).filter((id) => bobFlags[id])).toEqual([String(bobs.id)]);
    expect((await json<CatalogueVideo>(bob, `/api/videos/${mine.id}`)).is_favorite).toBe(false);
    expect((await json<CatalogueVideo>(alice, `/api/videos/${mine.id}`)).is_favorite).toBe(true);
    const rows = await json<CategoryRow[]>(bob, "/api/videos/?grouped=category&limit=100");
    const favoriteIds = rows.flatMap((row) => row.videos.filter((v) => v.is_favorite).map((v) => v.id));
    expect(favoriteIds).toEqual([bobs.id]);
  });
});

describe("watch progress", () => {
  test("each user sees their own progress with the percent of the duration", async () => {
    const video = listed[3]!;
    const me = (await json<{ id: number }>(alice, "/api/me/")).id;
    const updatedAt = new Date("2026-11-24T09:30:00.000Z");
    await api.database.db
      .insert(watchProgress)
      .values({ userId: me, videoId: video.id, positionSeconds: 1, clientSentAt: updatedAt, updatedAt });
    const expected = {
      position_seconds: 1,
      duration_seconds: 4,
      percent: 25,
      updated_at: updatedAt.toISOString(),
    };
    expect((await json<CatalogueVideo>(alice, `/api/videos/${video.id}`)).progress).toEqual(expected);
    const page = await json<Page>(alice, "/api/videos/?limit=100");
    expect(page.items.filter((v) => v.progress !== null).map((v) => [v.id, v.progress])).toEqual([
      [video.id, expected],
    ]);
    expect((await json<CatalogueVideo>(bob, `/api/videos/${video.id}`)).progress).toBeNull();
    expect((await json<Page>(bob, "/api/videos/?limit=100")).items.every((v) => v.progress === null)).toBe(
      true,
    );
  });
});

describe("cache", () => {
  test("lists are cached, and an edit through the admin api shows on the next GET at once", async () => {
    const video = listed[5]!;
    const title = async (client: Client) =>
      (await json<VideoflixVideo[]>(client, "/api/video/")).find((v) => v.id === video.id)!.title;
    expect(await title(alice)).toBe(video.title);
    // A write that nobody announces is not seen while the cached answer lives (the cache is real)…
    await api.database.db.update(videos).set({ title: "Silent edit" }).where(eq(videos.id, video.id));
    expect(await title(bob)).toBe(video.title);
    // …an admin's edit announces itself on vf:video-state, which drops the cache.
    const patched = await admin.request("PATCH", `/api/admin/videos/${video.id}`, { title: "Renamed" });
    expect(patched.status).toBe(200);
    expect(await title(alice)).toBe("Renamed");
    expect((await json<CatalogueVideo>(alice, `/api/videos/${video.id}`)).title).toBe("Renamed");
    expect((await json<Page>(alice, "/api/videos/?q=renamed")).items.map((v) => v.id)).toEqual([video.id]);
  });

  test("a video that becomes ready, or is deleted, shows in the lists at once", async () => {
    const before = await json<VideoflixVideo[]>(alice, "/api/video/");
    const fresh = await readyVideo("Fresh arrival", "Comedy");
    const after = await json<VideoflixVideo[]>(alice, "/api/video/");
    expect(after.map((v) => v.id)).toEqual([fresh.id, ...before.map((v) => v.id)]);
    expect((await json<Page>(alice, "/api/videos/?category=comedy&limit=1")).items[0]!.id).toBe(fresh.id);

    expect((await admin.request("DELETE", `/api/admin/videos/${fresh.id}`)).status).toBe(204);
    expect((await json<VideoflixVideo[]>(alice, "/api/video/")).map((v) => v.id)).toEqual(
      before.map((v) => v.id),
    );
    expect((await alice.get(`/api/videos/${fresh.id}`)).status).toBe(404);
  });
});

describe("OpenAPI", () => {
  test("every catalogue and favorites route is documented with its tag, JSON schemas and 401", async () => {
    const response = await fetch(`${api.url}/openapi/json`);
    const doc = (await response.json()) as {
      paths: Record<
        string,
        Record<
          string,
          { tags?: string[]; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }
        >
      >;
    };
    const routes: Array<[string, string, string]> = [
      ["get", "/api/video/", "Catalogue"],
      ["get", "/api/categories/", "Catalogue"],
      ["get", "/api/videos/", "Catalogue"],
      ["get", "/api/videos/{id}", "Catalogue"],
      ["get", "/api/favorites/", "Favorites"],
      ["put", "/api/favorites/{videoId}", "Favorites"],
      ["delete", "/api/favorites/{videoId}", "Favorites"],
    ];
    for (const [method, path, tag] of routes) {
      const operation = doc.paths[path]?.[method];
      expect(operation?.tags, `${method} ${path}`).toEqual([tag]);
      const responses = operation?.responses ?? {};
      expect(Object.keys(responses)).toContain("401");
      for (const [status, documented] of Object.entries(responses)) {
        if (status === "204") continue;
        expect(documented.content?.["application/json"]?.schema, `${method} ${path} ${status}`).toBeDefined();
      }
    }
  });
});
