// The admin's side of the api tests: the configured admin account and a client signed in as it,
// requests with a browser session's cookies and X-CSRFToken, and the upload form (multipart through
// fetch) of the admin video routes.
import { expect } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema/index.ts";
import { tinyMp4Bytes } from "./fixtures.ts";
import { Client, type TestApi } from "./test-api.ts";

export const ADMIN = { email: "admin@videoflix.test", password: "Admin-passphrase-0042" } as const;
export const ADMIN_ENV = { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } as const;

/**
 * The configured admin (de)activates an account through the admin service, as the studio's
 * PATCH /api/admin/users/:id does, for tests that speak another dialect and hold no admin client.
 */
export async function setAccountActive(api: TestApi, userId: number, active: boolean): Promise<void> {
  const [actor] = await api.database.db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(eq(users.email, ADMIN.email));
  if (!actor) throw new Error("the api was started without ADMIN_ENV: no admin to act");
  await api.runtime.services.userAdmin.update(actor, userId, { isActive: active });
}

/** The shape GET/POST answer for a video (the admin view). */
export interface AdminVideo {
  id: number;
  title: string;
  description: string;
  /** Title and description in the other supported languages, by language. */
  translations: Record<string, { title?: string; description?: string }>;
  category: string;
  created_at: string;
  revision: number;
  processing_state: "pending" | "processing" | "ready" | "error";
  processing_error: string | null;
  /** Watchable now: the ladder, or (still processing) the fast-start rendition. */
  playable: boolean;
  playable_at: string | null;
  progress: {
    percent: number;
    stage: string;
    eta_seconds: number | null;
    passes?: { fast_start?: { percent: number }; ladder?: { percent: number } };
  };
  duration_seconds: number | null;
  renditions: Array<{ name: string; width: number; height: number; bandwidth: number }>;
  thumbnail_url: string | null;
  /** The revision viewers watch now; below `revision` while a replaced file transcodes. */
  published_revision: number | null;
  posters: Array<{ width: number; height: number; jpeg_url: string; webp_url: string }>;
  storyboard_url: string | null;
}

/** A client signed in as the configured admin (the api, or the edge before it, started with ADMIN_ENV). */
export async function adminClient(api: Pick<TestApi, "url">): Promise<Client> {
  const client = new Client(api.url);
  const response = await client.post("/api/login/", ADMIN);
  if (response.status !== 200)
    throw new Error(`admin login failed: ${response.status} ${await response.text()}`);
  return client;
}

/** The headers a browser session sends: its cookies and the csrftoken echo. */
export function sessionHeaders(client: Client | null): Record<string, string> {
  if (!client) return {};
  const headers: Record<string, string> = { "x-forwarded-for": client.ip };
  if (client.cookies.size > 0) {
    headers.cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  const csrf = client.cookies.get("csrftoken");
  if (csrf) headers["x-csrftoken"] = csrf;
  return headers;
}

/** Any request with the session's cookies + CSRF header and an arbitrary body (FormData, stream, …). */
export function sendAs(
  api: TestApi,
  client: Client | null,
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string>; duplex?: "half" } = {},
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    body: init.body,
    headers: { ...sessionHeaders(client), ...init.headers },
    redirect: "manual",
    ...(init.duplex ? { duplex: init.duplex } : {}),
  } as RequestInit);
}

export interface UploadFields {
  title?: string;
  description?: string;
  category?: string;
  /** JSON text of `translations`, e.g. `{"de": {"title": "…"}}`. */
  translations?: string;
  /** The file part's content; leave out for a form without a file. */
  file?: Uint8Array | Blob;
  filename?: string;
}

export function uploadForm(fields: UploadFields): FormData {
  const form = new FormData();
  for (const name of ["title", "description", "category", "translations"] as const) {
    const value = fields[name];
    if (value !== undefined) form.append(name, value);
  }
  if (fields.file !== undefined) {
    const blob =
      fields.file instanceof Blob ? fields.file : new Blob([fields.file as Uint8Array<ArrayBuffer>]);
    form.append("file", blob, fields.filename ?? "clip.mp4");
  }
  return form;
}

/** POST /api/admin/videos as a browser would send the upload form. */
export function upload(api: TestApi, client: Client | null, fields: UploadFields): Promise<Response> {
  return sendAs(api, client, "POST", "/api/admin/videos", { body: uploadForm(fields) });
}

/** PUT /api/admin/videos/:id/file with a new file. */
export function replaceFile(
  api: TestApi,
  client: Client | null,
  id: number,
  file?: Uint8Array,
): Promise<Response> {
  return sendAs(api, client, "PUT", `/api/admin/videos/${id}/file`, { body: uploadForm({ file }) });
}

/** Uploads the tiny MP4 and returns the created video (asserting the 202). */
export async function createVideo(
  api: TestApi,
  admin: Client,
  fields: Partial<UploadFields> = {},
): Promise<AdminVideo> {
  const response = await upload(api, admin, {
    title: "A test clip",
    description: "Made by FFmpeg",
    category: "Tests",
    file: await tinyMp4Bytes(),
    ...fields,
  });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return JSON.parse(text) as AdminVideo;
}

export async function getVideo(admin: Client, id: number): Promise<AdminVideo> {
  const response = await admin.get(`/api/admin/videos/${id}`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as AdminVideo;
}
