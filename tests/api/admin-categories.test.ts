// The studio's category routes over HTTP: create, rename, delete, and the delete refused (409, with how
// many videos) while videos are filed under the category. Audit lines for each change.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { ADMIN_ENV, adminClient, createVideo, upload } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { eventually } from "../support/eventually.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

interface AdminCategory {
  id: number;
  name: string;
  video_count: number;
}

let api: TestApi;
let admin: Client;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV, { consumeEvents: false, captureLogs: true });
  admin = await adminClient(api);
});

afterAll(async () => {
  await api?.stop();
});

const json = async <T>(response: Response, status = 200): Promise<T> => {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
};
const create = async (name: string) =>
  json<AdminCategory>(await admin.post("/api/admin/categories", { name }), 201);
const remove = (id: number, client = admin) => client.request("DELETE", `/api/admin/categories/${id}`);
const auditLines = (action: string) => api.logs().filter((line) => line.audit === action);

describe("create, rename, delete", () => {
  test("an empty category is created, renamed and deleted, each with an audit line", async () => {
    const created = await create("Shorts");
    expect(created).toMatchObject({ name: "Shorts", video_count: 0 });
    const renamed = await json<AdminCategory>(
      await admin.request("PATCH", `/api/admin/categories/${created.id}`, { name: "Short films" }),
    );
    expect(renamed.name).toBe("Short films");

    expect((await remove(created.id)).status).toBe(204);
    await expectError(await admin.get(`/api/admin/categories/${created.id}`), 404);
    const listed = await json<AdminCategory[]>(await admin.get("/api/admin/categories"));
    expect(listed.map((category) => category.id)).not.toContain(created.id);
    await expectError(await remove(created.id), 404);

    const details = { category_id: created.id };
    expect(auditLines("category.created")).toContainEqual(
      expect.objectContaining({ ...details, name: "Shorts" }),
    );
    expect(auditLines("category.updated")).toContainEqual(
      expect.objectContaining({ ...details, name: "Short films", previous_name: "Shorts" }),
    );
    expect(auditLines("category.deleted")).toContainEqual(
      expect.objectContaining({ ...details, name: "Short films", actor_email: ADMIN_ENV.ADMIN_EMAIL }),
    );
    // The name is free again.
    expect((await create("Short films")).video_count).toBe(0);
  });

  test("refused with the number of videos while videos use it; allowed once they are gone", async () => {
    const first = await createVideo(api, admin, { category: "Documentaries" });
    const second = await createVideo(api, admin, { category: "documentaries" });
    const listed = await json<AdminCategory[]>(await admin.get("/api/admin/categories"));
    const category = listed.find((entry) => entry.name === "Documentaries")!;
    expect(category.video_count).toBe(2);

    const refusal = await expectError(await remove(category.id), 409);
    expect(refusal.body).toMatchObject({ reason: "in_use", video_count: 2 });
    expect(refusal.body.detail).toContain("2 videos");
    expect((await admin.get(`/api/admin/categories/${category.id}`)).status).toBe(200);

    // One video moves to another category, the other is deleted: nothing uses it any more.
    await json(await admin.request("PATCH", `/api/admin/videos/${first.id}`, { category: "Nature" }));
    const oneLeft = await expectError(await remove(category.id), 409);
    expect(oneLeft.body).toMatchObject({ video_count: 1 });
    expect((await admin.request("DELETE", `/api/admin/videos/${second.id}`)).status).toBe(204);
    expect((await remove(category.id)).status).toBe(204);
    expect(
      (await json<{ category: string }>(await admin.get(`/api/admin/videos/${first.id}`))).category,
    ).toBe("Nature");
  });

  test("a delete that lands between an upload's category read and its video insert waits and refuses", async () => {
    const category = await create("Racing");
    const { db } = api.database;
    /** Whether a backend waits for a lock while running a statement like `pattern`. */
    const waiting = async (pattern: string) => {
      const rows = (await db.execute(
        sql`select count(*)::int as count from pg_stat_activity
            where wait_event_type = 'Lock' and query ilike ${pattern}`,
      )) as unknown as Array<{ count: number }>;
      return rows[0]!.count > 0;
    };
    // A held SHARE lock on videos stops the upload at its video INSERT, after it has read the category;
    // the delete's own statements (FOR UPDATE, count, DELETE) do not conflict with it.
    let release = () => {};
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = db.transaction(async (tx) => {
      await tx.execute(sql`lock table videos in share mode`);
      locked();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await isLocked;
    const uploading = upload(api, admin, {
      title: "Lap one",
      category: "racing",
      file: await tinyMp4Bytes(),
    });
    await eventually("the upload waiting at its video insert", () => waiting('insert into "videos"%'));
    let deleted: Response | undefined;
    const deleting = remove(category.id).then((response) => {
      deleted = response;
      return response;
    });
    // Before the fix the delete ran through here (204) and the upload then failed its foreign key (500).
    await eventually(
      "the delete answered or waiting for the category row",
      async () => deleted !== undefined || (await waiting('select %from "categories"%for update%')),
    );
    release();
    await holder;

    const uploaded = await uploading;
    expect(uploaded.status, await uploaded.clone().text()).toBe(202);
    const refusal = await expectError(await deleting, 409);
    expect(refusal.body).toMatchObject({ reason: "in_use", video_count: 1 });
    const video = (await uploaded.json()) as { id: number; category: string };
    expect(
      (await json<{ category: string }>(await admin.get(`/api/admin/videos/${video.id}`))).category,
    ).toBe("Racing");
  });

  test("admins only, CSRF-checked; bad ids are 400s", async () => {
    const category = await create("Guarded");
    const viewer = await loggedInClient(api);
    await expectError(await remove(category.id, viewer), 403);
    await expectError(
      await admin.request("DELETE", `/api/admin/categories/${category.id}`, undefined, {
        "x-csrftoken": "forged",
      }),
      403,
    );
    await expectError(await admin.request("DELETE", "/api/admin/categories/abc"), 400);
    await expectError(await admin.request("DELETE", "/api/admin/categories/0"), 400);
    await expectError(await remove(2147483647), 404);
    expect((await admin.get(`/api/admin/categories/${category.id}`)).status).toBe(200);
  });
});
