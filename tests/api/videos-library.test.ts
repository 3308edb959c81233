// The admin library listing (GET /api/admin/videos) with filters, sorts and keyset pages, on the real
// runtime: every page in order without gaps or repeats, whatever the sort, also for rows created in the
// same millisecond; bad parameters are JSON 400s naming the parameter; without `limit`, the array.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { ADMIN_ENV, type AdminVideo, adminClient, createVideo } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let admin: Client;
/** Title → id of the videos made here. */
const ids = new Map<string, number>();

const TITLES = [
  ["Zebra crossing", "Nature"],
  ["apple harvest", "Nature"],
  ["Mountain 100% pure", "Travel"],
  ["Bicycle repair", "How-to"],
  ["Cooking pasta", "How-to"],
  ["Desert night", "Travel"],
] as const;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV, { consumeEvents: false });
  admin = await adminClient(api);
  for (const [title, category] of TITLES) {
    ids.set(title, (await createVideo(api, admin, { title, category, description: `About ${title}` })).id);
  }
  // Two rows of the same millisecond, a microsecond apart: a cursor that kept only milliseconds skips one.
  const { db } = api.database;
  await db.execute(
    sql`update videos set created_at = timestamptz '2026-11-30 10:00:00.123456+00' where id = ${ids.get("Bicycle repair")!}`,
  );
  await db.execute(
    sql`update videos set created_at = timestamptz '2026-11-30 10:00:00.123457+00' where id = ${ids.get("Cooking pasta")!}`,
  );
  await db.execute(
    sql`update videos set processing_state = 'error', processing_error = 'Not a video' where id = ${ids.get("Desert night")!}`,
  );
});

afterAll(async () => {
  await api?.stop();
});

interface Page {
  items: AdminVideo[];
  next_cursor: string | null;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await admin.get(path);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as T;
}

/** Every page of `query` with `limit`, following next_cursor to the end. */
async function allPages(query: string, limit: number): Promise<{ titles: string[]; pages: number }> {
  const titles: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page: Page = await getJson<Page>(`/api/admin/videos?limit=${limit}${query}${suffix}`);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    titles.push(...page.items.map((video) => video.title));
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null && pages < 20);
  return { titles, pages };
}

describe("the library listing", () => {
  test("without limit it is the array of every video, newest first, as before", async () => {
    const list = await getJson<AdminVideo[]>("/api/admin/videos");
    expect(Array.isArray(list)).toBe(true);
    const byNewest = (await api.database.db.execute(
      sql`select title from videos order by created_at desc, id desc`,
    )) as unknown as Array<{ title: string }>;
    expect(list.map((video) => video.title)).toEqual(byNewest.map((row) => row.title));
  });

  test("newest, oldest and title sorts page through every video once, in order", async () => {
    const newest = (await getJson<AdminVideo[]>("/api/admin/videos")).map((video) => video.title);
    const paged = await allPages("", 2);
    expect(paged.titles).toEqual(newest);
    expect(paged.pages).toBe(3);
    // Cooking (…457) comes before Bicycle (…456) newest first: the microsecond decides.
    expect(newest.indexOf("Cooking pasta")).toBe(newest.indexOf("Bicycle repair") - 1);

    expect((await allPages("&sort=oldest", 4)).titles).toEqual([...newest].reverse());

    const byTitle = (await api.database.db.execute(
      sql`select title from videos order by title asc, id asc`,
    )) as unknown as Array<{ title: string }>;
    expect((await allPages("&sort=title", 5)).titles).toEqual(byTitle.map((row) => row.title));
  });

  test("q searches title and description in any case, with % meant literally", async () => {
    expect((await allPages("&q=APPLE", 10)).titles).toEqual(["apple harvest"]);
    expect((await allPages(`&q=${encodeURIComponent("100%")}`, 10)).titles).toEqual(["Mountain 100% pure"]);
    expect((await allPages(`&q=${encodeURIComponent("%")}`, 10)).titles).toEqual(["Mountain 100% pure"]);
    expect((await allPages("&q=about%20desert", 10)).titles).toEqual(["Desert night"]);
    expect((await allPages("&q=nothing-like-this", 10)).titles).toEqual([]);
  });

  test("state and category (by name in any case, or by id) filter, together with the sort", async () => {
    const errors = await getJson<Page>("/api/admin/videos?limit=10&state=error");
    expect(errors.items.map((video) => [video.title, video.processing_error])).toEqual([
      ["Desert night", "Not a video"],
    ]);
    expect((await allPages("&category=how-to&sort=title", 1)).titles).toEqual([
      "Bicycle repair",
      "Cooking pasta",
    ]);
    const [category] = (await api.database.db.execute(
      sql`select id from categories where name = 'Travel'`,
    )) as unknown as Array<{ id: number }>;
    expect((await allPages(`&category=${category!.id}&sort=title`, 10)).titles).toEqual([
      "Desert night",
      "Mountain 100% pure",
    ]);
    expect((await allPages("&category=Travel&state=pending", 10)).titles).toEqual(["Mountain 100% pure"]);
    const unpaged = await getJson<AdminVideo[]>("/api/admin/videos?category=nature&sort=title");
    expect(unpaged.map((video) => video.title)).toEqual(["Zebra crossing", "apple harvest"].sort());
  });

  test("bad parameters are 400s naming the parameter", async () => {
    const first = await getJson<Page>("/api/admin/videos?limit=2");
    const cursor = encodeURIComponent(first.next_cursor!);
    const cases: Array<[string, string]> = [
      [`/api/admin/videos?limit=2&sort=title&cursor=${cursor}`, "cursor"],
      [`/api/admin/videos?cursor=${cursor}`, "cursor"],
      ["/api/admin/videos?limit=2&cursor=not-a-cursor", "cursor"],
      [`/api/admin/videos?limit=2&cursor=${Buffer.from('["newest","x",1]').toString("base64url")}`, "cursor"],
      [
        `/api/admin/videos?limit=2&cursor=${Buffer.from('["newest",1e300,1]').toString("base64url")}`,
        "cursor",
      ],
      ["/api/admin/videos?q=a%00b", "q"],
      // A forged title key with NUL: PostgreSQL refuses NUL in text, which was a 500.
      [
        `/api/admin/videos?limit=2&sort=title&cursor=${Buffer.from(JSON.stringify(["title", "a\u0000b", 1])).toString("base64url")}`,
        "cursor",
      ],
    ];
    for (const [path, field] of cases) {
      const { body } = await expectError(await admin.get(path), 400);
      expect(Object.keys(body), path).toEqual([field]);
    }
    // The query schema's own refusals (the api's one error shape, with the schema's sentence).
    for (const path of ["limit=0", "limit=101", "state=done", "sort=random"]) {
      await expectError(await admin.get(`/api/admin/videos?${path}`), 400);
    }
  });

  test("the OpenAPI document names the parameters and both answers", async () => {
    const document = (await (await fetch(`${api.url}/openapi/json`)).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string }>; responses: object } }>;
    };
    const listing = document.paths["/api/admin/videos"]!.get;
    expect(listing.parameters.map((parameter) => parameter.name).sort()).toEqual(
      ["category", "cursor", "limit", "q", "sort", "state"].sort(),
    );
    const ok = JSON.stringify((listing.responses as Record<string, unknown>)["200"]);
    expect(ok).toContain("next_cursor");
  });

  // Last: it adds videos that the exact lists above do not expect.
  test("title pages go on after the longest titles: 200 CJK characters, 200 escaped ones", async () => {
    const longest = ["日".repeat(200), "\u0001".repeat(200)];
    for (const title of longest) await createVideo(api, admin, { title, category: "Nature" });
    const byTitle = (await api.database.db.execute(
      sql`select title from videos order by title asc, id asc`,
    )) as unknown as Array<{ title: string }>;
    expect(byTitle.map((row) => row.title)).toEqual(expect.arrayContaining(longest));
    // One a page: some page ends on each of the long titles, and its cursor must lead on.
    expect((await allPages("&sort=title", 1)).titles).toEqual(byTitle.map((row) => row.title));
  });

  test("is for admins only", async () => {
    const viewer = await loggedInClient(api);
    await expectError(await viewer.get("/api/admin/videos?limit=5"), 403);
  });
});
