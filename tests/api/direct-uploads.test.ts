// One-time direct-upload URLs: an admin makes one; a client holding only the URL (no session) uploads
// with tus-js-client, and the video (with the URL's metadata) reaches `ready` on a real transcoder; the
// URL used twice, after its expiry, past its size cap, after a cancel, or for anything else is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { videos } from "../../db/schema/index.ts";
import { ADMIN_ENV, adminClient, getVideo, sendAs } from "../support/admin.ts";
import { startTranscoder, stopAllTranscoders, untilState } from "../support/farm.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { metadataHeader, patchHeaders, tusClientUpload, tusRequest } from "../support/tus.ts";

interface DirectUpload {
  id: string;
  url: string;
  status: string;
  video_id: number | null;
  title: string;
  category: string;
  max_bytes: number;
  expires_at: string;
}

let api: TestApi;
let admin: Client;
let mp4: Uint8Array;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV });
  [admin, mp4] = await Promise.all([adminClient(api), tinyMp4Bytes()]);
  startTranscoder(api, "direct-uploads");
}, 60_000);
afterAll(async () => {
  await stopAllTranscoders();
  await api?.stop();
});

async function makeDirectUpload(body: Record<string, unknown> = {}): Promise<DirectUpload> {
  const response = await admin.post("/api/admin/direct-uploads", {
    title: "Integrator's clip",
    category: "Direct",
    ...body,
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const created = (await response.json()) as DirectUpload;
  // The URL names PUBLIC_URL; the test api listens on a port of its own.
  return { ...created, url: new URL(new URL(created.url).pathname, api.url).href };
}

const statusOf = async (id: string) =>
  ((await (await admin.get(`/api/admin/direct-uploads/${id}`)).json()) as DirectUpload).status;

/** Creation with the URL alone (no cookies): the raw tus POST. */
const createWith = (url: string, bytes: number) =>
  tusRequest(url, "POST", null, {
    "upload-length": String(bytes),
    "upload-metadata": metadataHeader({ filename: "clip.mp4" }),
  });

describe("making and checking direct uploads", () => {
  test("only admins make them; the body is checked", async () => {
    const viewer = await loggedInClient(api);
    expect((await viewer.post("/api/admin/direct-uploads", { title: "x", category: "y" })).status).toBe(403);
    const missing = await admin.post("/api/admin/direct-uploads", { category: "y" });
    expect(missing.status).toBe(400);
    expect(Object.keys(await missing.json())).toContain("title");
    const tooBig = await admin.post("/api/admin/direct-uploads", {
      title: "x",
      category: "y",
      max_bytes: api.config.maxUploadBytes + 1,
    });
    expect(tooBig.status).toBe(400);
    expect(Object.keys(await tooBig.json())).toEqual(["max_bytes"]);
    const made = await makeDirectUpload({ max_bytes: 5_000_000, expires_in: 600 });
    expect(made.status).toBe("waiting");
    expect(made.video_id).toBeNull();
    expect(made.max_bytes).toBe(5_000_000);
    expect(made.url).toContain("/api/uploads/direct/");
    expect((await admin.get(`/api/admin/direct-uploads/${crypto.randomUUID()}`)).status).toBe(404);
  }, 30_000);
});

describe("uploading with the URL alone", () => {
  test("tus-js-client without a session: uploading → asset_created, the video ready with the URL's metadata", async () => {
    const direct = await makeDirectUpload({ title: "Keynote", description: "From an integrator" });
    let statusWhileUploading = null as Promise<string> | null;
    const { url } = await tusClientUpload(mp4, {
      endpoint: direct.url,
      chunkSize: 16 * 1024,
      metadata: { filename: "keynote.mp4", title: "ignored: fixed at creation" },
      onChunkComplete: () => {
        statusWhileUploading ??= statusOf(direct.id);
      },
    });
    expect(await statusWhileUploading).toBe("uploading");
    const status = (await (await admin.get(`/api/admin/direct-uploads/${direct.id}`)).json()) as DirectUpload;
    expect(status.status).toBe("asset_created");
    expect(status.video_id).toBeGreaterThan(0);
    const rows = await api.database.db.select().from(videos).where(eq(videos.title, "Keynote"));
    expect(rows.map((row) => row.id)).toEqual([status.video_id!]);
    const video = await getVideo(admin, status.video_id!);
    expect(video.description).toBe("From an integrator");
    expect(video.category).toBe("Direct");
    await untilState(admin, status.video_id!, "ready");

    // Used twice: the second creation is refused.
    const again = await createWith(direct.url, mp4.byteLength);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ detail: "This upload URL was already used." });
    // Nor can it be cancelled any more: it is a video now.
    expect((await sendAs(api, admin, "DELETE", `/api/admin/direct-uploads/${direct.id}`)).status).toBe(409);
    // The URL does nothing else: no termination, no other upload, no reading, no admin route.
    expect((await tusRequest(url, "DELETE", null)).status).toBe(403);
    const other = url.replace(/[0-9a-f]{32}$/, "0".repeat(32));
    expect((await tusRequest(other, "HEAD", null)).status).toBe(404);
    expect((await fetch(url)).status).toBe(404);
    const token = new URL(direct.url).pathname.split("/")[4]!;
    const asBearer = { headers: { authorization: `Bearer ${token}`, cookie: `access_token=${token}` } };
    expect((await fetch(`${api.url}/api/admin/videos`, asBearer)).status).toBe(401);
    const uploadId = url.split("/").at(-1)!;
    expect((await fetch(`${api.url}/api/uploads/${uploadId}/video`, asBearer)).status).toBe(401);
    expect((await fetch(`${api.url}/api/admin/direct-uploads/${direct.id}`, asBearer)).status).toBe(401);
  }, 120_000);

  test("from an integrator's page on any origin: preflight and upload allowed, without credentials", async () => {
    const direct = await makeDirectUpload();
    const origin = "https://integrator.example";
    const preflight = await fetch(direct.url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "tus-resumable,upload-length,upload-metadata",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    const created = await tusRequest(direct.url, "POST", null, {
      origin,
      "upload-length": String(mp4.byteLength),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("access-control-allow-origin")).toBe(origin);
    expect(created.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("location");
    // The admin endpoint stays closed to that origin (a session's cookies could ride along there).
    const adminPath = await tusRequest(`${api.url}/api/uploads/`, "POST", admin, {
      origin,
      "upload-length": "1000",
      "upload-metadata": metadataHeader({ title: "x", category: "y" }),
    });
    expect(adminPath.status).toBe(403);
  }, 30_000);

  test("a forged or altered token is refused", async () => {
    const direct = await makeDirectUpload();
    const forged = direct.url.replace(/\.[A-Za-z0-9_-]+\/$/, ".AAAA/");
    expect((await createWith(forged, mp4.byteLength)).status).toBe(401);
    const otherId = direct.url.replace(direct.id, crypto.randomUUID());
    expect((await createWith(otherId, mp4.byteLength)).status).toBe(401);
    expect(await statusOf(direct.id)).toBe("waiting");
  }, 30_000);

  test("past its size cap: 413 at creation", async () => {
    const direct = await makeDirectUpload({ max_bytes: 1000 });
    expect((await createWith(direct.url, 2000)).status).toBe(413);
    expect(await statusOf(direct.id)).toBe("waiting");
  }, 30_000);

  test("after its expiry: 410, and its status says expired", async () => {
    const direct = await makeDirectUpload({ expires_in: 60 });
    api.shiftClock(120);
    try {
      const late = await createWith(direct.url, mp4.byteLength);
      expect(late.status).toBe(410);
      expect(await late.json()).toEqual({ detail: "This upload URL has expired." });
      expect(await statusOf(direct.id)).toBe("expired");
    } finally {
      api.shiftClock(-120);
    }
  }, 30_000);

  test("cancelled mid-upload: the URL stops working and the bytes already sent are removed", async () => {
    const direct = await makeDirectUpload();
    const created = await createWith(direct.url, mp4.byteLength);
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get("location")!, api.url).href;
    const first = await tusRequest(url, "PATCH", null, patchHeaders(0), mp4.subarray(0, 50_000));
    expect(first.status).toBe(204);
    const uploadsDir = join(api.config.mediaRoot, "uploads");
    const uploadId = url.split("/").at(-1)!;
    expect(readdirSync(uploadsDir)).toContain(uploadId);
    expect((await sendAs(api, admin, "DELETE", `/api/admin/direct-uploads/${direct.id}`)).status).toBe(204);
    expect(await statusOf(direct.id)).toBe("cancelled");
    const after = await tusRequest(url, "PATCH", null, patchHeaders(50_000), mp4.subarray(50_000));
    expect(after.status).toBe(410);
    expect(existsSync(join(uploadsDir, uploadId))).toBe(false);
  }, 30_000);

  test("a file that is no video frees the URL for another try", async () => {
    const direct = await makeDirectUpload();
    const text = new TextEncoder().encode("not a video, just text\n".repeat(100));
    const created = await createWith(direct.url, text.byteLength);
    const url = new URL(created.headers.get("location")!, api.url).href;
    expect((await tusRequest(url, "PATCH", null, patchHeaders(0), text)).status).toBe(415);
    expect(await statusOf(direct.id)).toBe("waiting");
    expect((await createWith(direct.url, mp4.byteLength)).status).toBe(201);
  }, 30_000);
});
