// Helpers for the admin video tests: an admin session, multipart uploads through fetch with the
// session's cookies and X-CSRFToken, a tiny real MP4 (made once per process with FFmpeg), a look into
// MEDIA_ROOT, and what a transcoder would publish (a fabricated TranscodeResult plus its files).
import { expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, type TranscodeJob } from "../../contract/transcode-jobs.ts";
import { TRANSCODE_REPORTS_QUEUE } from "../../contract/transcode-reports.ts";
import { StateReporter } from "../../transcoder/reporter.ts";
import { Client, type TestApi } from "./test-api.ts";

export const ADMIN = { email: "admin@videoflix.test", password: "Admin-passphrase-0042" } as const;
export const ADMIN_ENV = { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } as const;

/** The shape GET/POST answer for a video (the admin view). */
export interface AdminVideo {
  id: number;
  title: string;
  description: string;
  category: string;
  created_at: string;
  revision: number;
  processing_state: "pending" | "processing" | "ready" | "error";
  processing_error: string | null;
  progress: { percent: number; stage: string; eta_seconds: number | null };
  duration_seconds: number | null;
  renditions: Array<{ name: string; width: number; height: number; bandwidth: number }>;
  thumbnail_url: string | null;
}

/** A client signed in as the configured admin (the api must have been started with ADMIN_ENV). */
export async function adminClient(api: TestApi): Promise<Client> {
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
  /** The file part's content; leave out for a form without a file. */
  file?: Uint8Array | Blob;
  filename?: string;
}

export function uploadForm(fields: UploadFields): FormData {
  const form = new FormData();
  for (const name of ["title", "description", "category"] as const) {
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

let tinyMp4: Promise<Uint8Array<ArrayBuffer>> | undefined;

/** A 2-second 320×180 H.264/AAC MP4, encoded once per test process. */
export function tinyMp4Bytes(): Promise<Uint8Array<ArrayBuffer>> {
  tinyMp4 ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "vf-mp4-"));
    const out = join(dir, "out.mp4");
    try {
      const ffmpeg = Bun.spawn(
        [
          "ffmpeg",
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          "testsrc2=s=320x180:r=25:d=2",
          "-f",
          "lavfi",
          "-i",
          "sine=d=2",
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-c:a",
          "aac",
          "-shortest",
          out,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      if ((await ffmpeg.exited) !== 0)
        throw new Error(`ffmpeg failed: ${await new Response(ffmpeg.stderr).text()}`);
      return new Uint8Array(await Bun.file(out).arrayBuffer());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return tinyMp4;
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

/** Relative paths of every file under `dir` (empty when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** Entries directly inside `dir` (files or folders; empty when it does not exist). */
export function entriesOf(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** A transcoder's side of a test: its own StateReporter on two connections to the api's Redis. */
export class TestTranscoder {
  private readonly bull: Redis;
  private readonly plain: Redis;
  readonly reporter: StateReporter;

  constructor(private readonly api: TestApi) {
    this.bull = bullConnection(api);
    this.plain = bullConnection(api);
    this.reporter = new StateReporter(this.bull, this.plain);
  }

  /** Publishes a staged tree as the video's revision and reports it ready, as a worker does. */
  async publishReady(videoId: number, stagingDir: string, result: TranscodeResult, revision = 1) {
    await this.api.runtime.storage.publishDirectory(stagingDir, outputPrefixFor(videoId, revision));
    await this.reporter.state({ type: "ready", videoId, revision, result, at: new Date().toISOString() });
  }

  async close(): Promise<void> {
    await this.reporter.close();
    this.bull.disconnect();
    this.plain.disconnect();
  }
}

/** A Redis connection as BullMQ wants it (blocking commands retry forever). */
export function bullConnection(api: TestApi): Redis {
  return new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
}

export function transcodeQueue(connection: Redis): Queue<TranscodeJob, TranscodeResult> {
  return new Queue<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, { connection });
}

export function videoEventsQueue(connection: Redis): Queue {
  return new Queue(TRANSCODE_REPORTS_QUEUE, { connection });
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(timeoutMs > 10_000 ? 200 : 25);
  }
}

/** A TranscodeResult such as a transcoder returns for a 320×180 source (two posters). */
export function fabricatedResult(durationSeconds = 2): TranscodeResult {
  return {
    durationSeconds,
    renditions: [
      {
        name: "180p",
        width: 320,
        height: 180,
        bandwidth: 420_000,
        averageBandwidth: 350_000,
        codecs: "avc1.64000d,mp4a.40.2",
        frameRate: 25,
      },
      {
        name: "144p",
        width: 256,
        height: 144,
        bandwidth: 260_000,
        averageBandwidth: 210_000,
        codecs: "avc1.64000c,mp4a.40.2",
        frameRate: 25,
      },
    ],
    masterPlaylist: "master.m3u8",
    posters: [
      { width: 320, height: 180, jpeg: "thumbnails/poster-320.jpg", webp: "thumbnails/poster-320.webp" },
      { width: 640, height: 360, jpeg: "thumbnails/poster-640.jpg", webp: "thumbnails/poster-640.webp" },
    ],
    storyboard: null,
  };
}

/** Writes the files a transcoder would have published for `revision` under MEDIA_ROOT; returns the dir. */
export function publishTree(
  mediaRoot: string,
  videoId: number,
  revision: number,
  result = fabricatedResult(),
): string {
  const dir = join(mediaRoot, outputPrefixFor(videoId, revision));
  const files = [
    result.masterPlaylist,
    ...result.renditions.flatMap((r) => [`${r.name}/index.m3u8`, `${r.name}/seg_00000.ts`]),
    ...result.posters.flatMap((p) => [p.jpeg, p.webp]),
  ];
  for (const file of files) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `fake ${file}\n`);
  }
  return dir;
}
