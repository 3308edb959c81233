// tus 1.0 at /api/uploads/, the raw protocol (fetch, and curl as an operator would type it): discovery,
// who may upload, metadata refused at creation before any byte is stored, sniffing, checksums (460),
// termination, a duplicated final PATCH (one video), and expiry (410, then 404 once swept).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { resumableUploads, videos } from "../../db/schema/index.ts";
import { ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import {
  digest,
  metadataHeader,
  patchHeaders,
  sha256Hex,
  sourceOf,
  TUS,
  tusRequest,
} from "../support/tus.ts";

let api: TestApi;
let admin: Client;
let mp4: Uint8Array;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false });
  [admin, mp4] = await Promise.all([adminClient(api), tinyMp4Bytes()]);
});
afterAll(async () => api?.stop());

const endpoint = () => `${api.url}/api/uploads/`;
const META = { title: "Resumed film", category: "Tus", filename: "film.mp4" };

async function create(size: number, meta: Record<string, string> = META, client: Client | null = admin) {
  return tusRequest(endpoint(), "POST", client, {
    "upload-length": String(size),
    "upload-metadata": metadataHeader(meta),
  });
}

async function created(size: number, meta: Record<string, string> = META): Promise<string> {
  const response = await create(size, meta);
  expect(response.status, await response.clone().text()).toBe(201);
  return new URL(response.headers.get("location")!, api.url).href;
}

/** curl -i, run asynchronously: the api answering it lives in this process. */
async function curl(args: string[]): Promise<string> {
  const child = Bun.spawn(["curl", "-sS", "-i", "--max-time", "20", ...args], { stdout: "pipe" });
  const output = await new Response(child.stdout).text();
  await child.exited;
  return output;
}

const uploadsOnDisk = () => {
  const dir = join(api.config.mediaRoot, "uploads");
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe("discovery", () => {
  test("OPTIONS advertises tus 1.0, the extensions, the checksum algorithms and MAX_UPLOAD_BYTES", async () => {
    const response = await fetch(endpoint(), { method: "OPTIONS" });
    expect(response.status).toBe(204);
    expect(response.headers.get("tus-version")).toBe("1.0.0");
    expect(response.headers.get("tus-extension")!.split(",").sort()).toEqual(
      ["checksum", "creation", "creation-with-upload", "expiration", "termination"].sort(),
    );
    expect(response.headers.get("tus-checksum-algorithm")).toBe("sha1,sha256");
    expect(response.headers.get("tus-max-size")).toBe(String(api.config.maxUploadBytes));
  }, 30_000);

  test("with curl: OPTIONS, then a creation-with-upload that becomes a video at once", async () => {
    expect(await curl(["-X", "OPTIONS", endpoint()])).toMatch(/^tus-version: 1\.0\.0\r$/im);
    const file = join(api.config.mediaRoot, "..", "clip.mp4");
    await Bun.write(file, mp4);
    const headers = sessionHeaders(admin);
    const answer = await curl([
      "-X",
      "POST",
      ...Object.entries({ ...headers, ...TUS }).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
      "-H",
      `Upload-Length: ${mp4.byteLength}`,
      "-H",
      `Upload-Metadata: ${metadataHeader({ title: "From curl", category: "Tus" })}`,
      "-H",
      "Content-Type: application/offset+octet-stream",
      "--data-binary",
      `@${file}`,
      endpoint(),
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect(answer).toMatch(new RegExp(`^upload-offset: ${mp4.byteLength}\\r$`, "im"));
    const videoId = Number(/^video-id: (\d+)\r$/im.exec(answer)?.[1]);
    expect(videoId).toBeGreaterThan(0);
    const [row] = await api.database.db.select().from(videos).where(eq(videos.id, videoId));
    expect(row?.title).toBe("From curl");
    expect(row?.processingState).toBe("pending");
  }, 30_000);
});

describe("who may upload", () => {
  test("no session: 401 JSON; a viewer: 403; an admin without X-CSRFToken: 403", async () => {
    const anonymous = await create(1000, META, null);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: "Authentication credentials were not provided." });
    const viewer = await loggedInClient(api);
    expect((await create(1000, META, viewer)).status).toBe(403);
    const { "x-csrftoken": _, ...withoutCsrf } = sessionHeaders(admin);
    const forged = await fetch(endpoint(), {
      method: "POST",
      headers: { ...withoutCsrf, ...TUS, "upload-length": "1000", "upload-metadata": metadataHeader(META) },
    });
    expect(forged.status).toBe(403);
  }, 30_000);

  test("an upload cannot be read back: GET on it is 404", async () => {
    const url = await created(mp4.byteLength);
    expect((await tusRequest(url, "GET", admin)).status).toBe(404);
  }, 30_000);
});

describe("bad input is refused before any byte is stored", () => {
  test("missing or blank metadata: 400 naming the field, nothing stored", async () => {
    const before = uploadsOnDisk();
    const missing = await create(1000, { category: "Tus" });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ title: ["This field is required."] });
    const blank = await create(1000, { title: "  ", category: "Tus" });
    expect(await blank.json()).toEqual({ title: ["This field may not be blank."] });
    const long = await create(1000, { ...META, description: "d".repeat(5001) });
    expect(await long.json()).toEqual({ description: ["At most 5000 characters."] });
    const malformed = await tusRequest(endpoint(), "POST", admin, {
      "upload-length": "1000",
      "upload-metadata": "title not base64!",
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toBe("application/json");
    expect(uploadsOnDisk()).toEqual(before);
  }, 30_000);

  test("larger than MAX_UPLOAD_BYTES: 413; empty: 415", async () => {
    expect((await create(api.config.maxUploadBytes + 1)).status).toBe(413);
    const empty = await create(0);
    expect(empty.status).toBe(415);
    expect(await empty.json()).toEqual({ file: ["The file is empty."] });
  }, 30_000);

  test("a text file renamed .mp4: the first chunk answers 415 and the upload is removed", async () => {
    const text = new TextEncoder().encode("#EXTM3U\n#EXT-X-VERSION:3\n".repeat(200));
    const url = await created(text.byteLength, { ...META, filename: "notes.mp4" });
    const id = url.split("/").at(-1)!;
    expect(uploadsOnDisk()).toContain(id);
    const patch = await tusRequest(url, "PATCH", admin, patchHeaders(0), text);
    expect(patch.status).toBe(415);
    expect((await patch.json()).file).toBeDefined();
    expect(uploadsOnDisk()).not.toContain(id);
    expect((await tusRequest(url, "HEAD", admin)).status).toBe(404);
  }, 30_000);
});

describe("chunks", () => {
  test("a chunk whose checksum does not match: 460, not stored; the right one is taken", async () => {
    const file = sourceOf(mp4, 300_000);
    const url = await created(file.byteLength);
    const first = file.subarray(0, 100_000);
    const wrong = await tusRequest(
      url,
      "PATCH",
      admin,
      patchHeaders(0, { "upload-checksum": `sha256 ${digest("sha256", file.subarray(1, 100_001))}` }),
      first,
    );
    expect(wrong.status).toBe(460);
    expect((await tusRequest(url, "HEAD", admin)).headers.get("upload-offset")).toBe("0");
    for (const algorithm of ["sha1", "sha256"] as const) {
      const offset = algorithm === "sha1" ? 0 : 100_000;
      const chunk = file.subarray(offset, offset + 100_000);
      const right = await tusRequest(
        url,
        "PATCH",
        admin,
        patchHeaders(offset, { "upload-checksum": `${algorithm} ${digest(algorithm, chunk)}` }),
        chunk,
      );
      expect(right.status).toBe(204);
      expect(right.headers.get("upload-offset")).toBe(String(offset + 100_000));
    }
    const unknown = await tusRequest(
      url,
      "PATCH",
      admin,
      patchHeaders(200_000, { "upload-checksum": "md5 AAAA" }),
      file.subarray(200_000),
    );
    expect(unknown.status).toBe(400);
  }, 30_000);

  test("a PATCH at the wrong offset: 409, and the stored offset is unchanged", async () => {
    const file = sourceOf(mp4, 200_000);
    const url = await created(file.byteLength);
    expect((await tusRequest(url, "PATCH", admin, patchHeaders(0), file.subarray(0, 50_000))).status).toBe(
      204,
    );
    const conflict = await tusRequest(url, "PATCH", admin, patchHeaders(10), file.subarray(10, 60_000));
    expect(conflict.status).toBe(409);
    expect((await tusRequest(url, "HEAD", admin)).headers.get("upload-offset")).toBe("50000");
  }, 30_000);

  test("a PATCH whose connection dies mid-body: what arrived is kept, and it resumes from there", async () => {
    const file = sourceOf(mp4, 3 * 1024 * 1024);
    const url = await created(file.byteLength);
    expect(
      (await tusRequest(url, "PATCH", admin, patchHeaders(0), file.subarray(0, 1024 * 1024))).status,
    ).toBe(204);
    // The client sends half of the next chunk, then its body fails: the request is cut short.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(file.slice(1024 * 1024, 1536 * 1024));
      },
      pull(controller) {
        controller.error(new Error("the connection died"));
      },
    });
    const cut = await fetch(url, {
      method: "PATCH",
      headers: { ...sessionHeaders(admin), ...TUS, ...patchHeaders(1024 * 1024) },
      body,
      duplex: "half",
    } as RequestInit).catch((error: Error) => error);
    expect(cut).toBeInstanceOf(Error);
    // Without Upload-Checksum what arrived before the cut is the file's and is kept (tus: the server
    // SHOULD keep all it can), once the api is done with the cut request and its lock is free again:
    // the client resumes from the offset HEAD reports, anywhere from the chunk's start to what it sent.
    let resumedAt = -1;
    let rest: Response | null = null;
    await eventually("the upload to resume from the stored offset", async () => {
      const offset = Number((await tusRequest(url, "HEAD", admin)).headers.get("upload-offset"));
      const answer = await tusRequest(url, "PATCH", admin, patchHeaders(offset), file.subarray(offset));
      if (answer.status !== 204) return false;
      resumedAt = offset;
      rest = answer;
      return true;
    });
    expect(resumedAt).toBeGreaterThanOrEqual(1024 * 1024);
    expect(resumedAt).toBeLessThanOrEqual(1536 * 1024);
    expect((rest as Response | null)!.headers.get("video-id")).toMatch(/^\d+$/);
    const [video] = await api.database.db
      .select()
      .from(videos)
      .where(eq(videos.id, Number((rest as Response | null)!.headers.get("video-id"))));
    expect(sha256Hex(await Bun.file(join(api.config.mediaRoot, video!.sourceKey)).bytes())).toBe(
      sha256Hex(file),
    );
  }, 30_000);

  test("a duplicated final PATCH: the same video, once, and the source is the file sent", async () => {
    const file = sourceOf(mp4, 500_000);
    const url = await created(file.byteLength, { ...META, title: "Sent twice" });
    await tusRequest(url, "PATCH", admin, patchHeaders(0), file.subarray(0, 250_000));
    const final = () => tusRequest(url, "PATCH", admin, patchHeaders(250_000), file.subarray(250_000));
    // The same final chunk twice at once (a client retrying on a lost answer), then once more late.
    const answers = await Promise.all([final(), final()]);
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toContain(204);
    const ids = answers
      .filter((answer) => answer.status === 204)
      .map((answer) => answer.headers.get("video-id"));
    const late = await tusRequest(url, "PATCH", admin, patchHeaders(file.byteLength), new Uint8Array(0));
    expect(late.status).toBe(204);
    ids.push(late.headers.get("video-id"));
    expect(new Set(ids).size).toBe(1);
    const rows = await api.database.db.select().from(videos).where(eq(videos.title, "Sent twice"));
    expect(rows).toHaveLength(1);
    expect(String(rows[0]!.id)).toBe(ids[0]!);
    expect(rows[0]!.sourceBytes).toBe(file.byteLength);
    const source = await Bun.file(join(api.config.mediaRoot, rows[0]!.sourceKey)).bytes();
    expect(sha256Hex(source)).toBe(sha256Hex(file));
    const video = await admin.get(`/api/uploads/${url.split("/").at(-1)}/video`);
    expect(((await video.json()) as { id: number }).id).toBe(rows[0]!.id);
    const head = await tusRequest(url, "HEAD", admin);
    expect(head.headers.get("upload-offset")).toBe(String(file.byteLength));
  }, 30_000);

  test("GET /api/uploads/:id/video: 409 while incomplete, 404 for an unknown upload", async () => {
    const url = await created(mp4.byteLength);
    const pending = await admin.get(`/api/uploads/${url.split("/").at(-1)}/video`);
    expect(pending.status).toBe(409);
    expect((await admin.get(`/api/uploads/${"0".repeat(32)}/video`)).status).toBe(404);
  }, 30_000);

  test("termination: DELETE removes the upload and its bytes", async () => {
    const file = sourceOf(mp4, 100_000);
    const url = await created(file.byteLength);
    await tusRequest(url, "PATCH", admin, patchHeaders(0), file.subarray(0, 60_000));
    const id = url.split("/").at(-1)!;
    expect(uploadsOnDisk()).toContain(id);
    expect((await tusRequest(url, "DELETE", admin)).status).toBe(204);
    expect(uploadsOnDisk()).not.toContain(id);
    expect((await tusRequest(url, "HEAD", admin)).status).toBe(404);
  }, 30_000);
});

describe("expiry", () => {
  let short: TestApi;
  let shortAdmin: Client;
  beforeAll(async () => {
    short = await startTestApi({ ...ADMIN_ENV, UPLOAD_EXPIRY: "2s" }, { consumeEvents: false });
    shortAdmin = await adminClient(short);
  });
  afterAll(async () => short?.stop());

  test("an upload untouched past UPLOAD_EXPIRY: Upload-Expires sent, then 410, then swept: 404, no bytes, no row, its URL free", async () => {
    const response = await tusRequest(`${short.url}/api/uploads/`, "POST", shortAdmin, {
      "upload-length": String(mp4.byteLength),
      "upload-metadata": metadataHeader(META),
    });
    expect(response.status).toBe(201);
    const expires = Date.parse(response.headers.get("upload-expires")!);
    expect(expires).toBeGreaterThan(Date.now());
    const url = new URL(response.headers.get("location")!, short.url).href;
    await tusRequest(url, "PATCH", shortAdmin, patchHeaders(0), mp4.subarray(0, 50_000));
    // A direct-upload URL (valid an hour) whose upload is left to expire: the URL is free again after.
    const direct = (await (
      await shortAdmin.post("/api/admin/direct-uploads", {
        title: "Left behind",
        category: "Tus",
      })
    ).json()) as { id: string; url: string };
    const directUrl = new URL(new URL(direct.url).pathname, short.url).href;
    const directCreated = await tusRequest(directUrl, "POST", null, {
      "upload-length": String(mp4.byteLength),
    });
    expect(directCreated.status).toBe(201);
    const directStatus = async () =>
      ((await (await shortAdmin.get(`/api/admin/direct-uploads/${direct.id}`)).json()) as { status: string })
        .status;
    expect(await directStatus()).toBe("uploading");
    await Bun.sleep(3000);
    expect((await tusRequest(url, "HEAD", shortAdmin)).status).toBe(410);
    const gone = await tusRequest(url, "PATCH", shortAdmin, patchHeaders(50_000), mp4.subarray(50_000));
    expect(gone.status).toBe(410);
    expect((await short.runtime.sweepStorage()).expiredUploads).toBe(2);
    expect(await directStatus()).toBe("waiting");
    const uploadId = url.split("/").at(-1)!;
    const rows = await short.database.db
      .select()
      .from(resumableUploads)
      .where(eq(resumableUploads.uploadId, uploadId));
    expect(rows).toEqual([]);
    expect((await tusRequest(url, "HEAD", shortAdmin)).status).toBe(404);
    expect(readdirSync(join(short.config.mediaRoot, "uploads"))).toEqual([]);
  }, 30_000);
});
