// `bun load-tests/seed.ts` (npm run loadtest:seed): prepares a running api for the k6 scripts, through
// its public API only: VIEWERS activated viewer accounts (registered, activated from the mailed link,
// signed in once) and VIDEOS ready videos (small clips made with FFmpeg, uploaded as the admin,
// transcoded by the farm). Idempotent: viewers that can sign in and ready clips of an earlier run
// are reused. Prints the summary the k6 scripts read and writes it to SEED_OUT.
//
//   BASE_URL        the api or the edge in front of it            (http://localhost:3000)
//   ADMIN_EMAIL     the admin account                             (admin@videoflix.local)
//   ADMIN_PASSWORD  its password                                  (./var/admin-password, as npm run up keeps it)
//   VIEWERS, VIDEOS how many of each                              (10, 4)
//   MAIL_DIR        where the api writes mails without SMTP       (./var/mail)
//   MAILPIT_URL     read activation mails from Mailpit instead    (unset)
//   SEED_OUT        the summary file; the upload clip goes beside (./var/loadtest/seed.json)
//   CLIP_SECONDS, CLIP_HEIGHT, UPLOAD_CLIP_SECONDS, VIEWER_PREFIX, VIEWER_PASSWORD, SEED_TIMEOUT_SECONDS
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { generateVideo } from "../dev/media.ts";
import { type MailSource, waitForActivation } from "./seed/activation-mail.ts";
import { ApiClient } from "./seed/api-client.ts";

const env = process.env;
const BASE_URL = (env.BASE_URL ?? "http://localhost:3000").replace(/\/+$/, "");
const VIEWERS = Number(env.VIEWERS ?? 10);
const VIDEOS = Number(env.VIDEOS ?? 4);
const CLIP_SECONDS = Number(env.CLIP_SECONDS ?? 12);
const CLIP_HEIGHT = Number(env.CLIP_HEIGHT ?? 480);
const UPLOAD_CLIP_SECONDS = Number(env.UPLOAD_CLIP_SECONDS ?? 20);
const SEED_OUT = resolve(env.SEED_OUT ?? "var/loadtest/seed.json");
const VIEWER_PREFIX = env.VIEWER_PREFIX ?? "loadtest-viewer";
const TIMEOUT_MS = Number(env.SEED_TIMEOUT_SECONDS ?? 600) * 1000;
const TITLE_PREFIX = "Load test clip";
/** Two categories, so that the browsing mix has filters and rows to page through. */
const CATEGORIES = ["Load test A", "Load test B"];

interface Viewer {
  email: string;
  password: string;
}
interface AdminVideo {
  id: number;
  title: string;
  category: string;
  processing_state: "pending" | "processing" | "ready" | "error";
  processing_error: string | null;
  duration_seconds: number | null;
  renditions: Array<{ name: string; width: number; height: number; bandwidth: number }>;
}

const log = (message: string) => console.error(`seed: ${message}`);

function adminCredentials(): Viewer {
  const email = env.ADMIN_EMAIL ?? "admin@videoflix.local";
  if (env.ADMIN_PASSWORD) return { email, password: env.ADMIN_PASSWORD };
  const file = "var/admin-password";
  if (!existsSync(file)) throw new Error("set ADMIN_PASSWORD (or run from the repository after npm run up)");
  return { email, password: readFileSync(file, "utf8").trim() };
}

/** The viewers' password: VIEWER_PASSWORD, else the one an earlier seed generated, else a new one. */
function viewerPassword(): string {
  if (env.VIEWER_PASSWORD) return env.VIEWER_PASSWORD;
  try {
    const previous = JSON.parse(readFileSync(SEED_OUT, "utf8"));
    if (previous.base_url === BASE_URL && previous.viewers?.[0]?.password)
      return previous.viewers[0].password;
  } catch {}
  return `Lt-${randomBytes(12).toString("base64url")}-9`;
}

async function ensureViewer(email: string, password: string, mail: MailSource): Promise<Viewer> {
  const client = new ApiClient(BASE_URL);
  if (await client.login(email, password)) return { email, password };
  // New (or never activated: registering again mails a fresh link). An active account with another
  // password gets an "account exists" mail instead, and the wait below says so.
  const since = Date.now();
  await client.json(
    "POST",
    "/api/register/",
    { email, password, confirmed_password: password },
    201,
    "register",
  );
  const link = await waitForActivation(mail, email, since).catch((error: Error) => {
    throw new Error(
      `${error.message}; if ${email} exists with another password, set VIEWER_PASSWORD or VIEWER_PREFIX`,
    );
  });
  await client.json("GET", `/api/activate/${link.uid}/${link.token}/`, undefined, 200, `activate ${email}`);
  if (!(await client.login(email, password))) throw new Error(`${email} cannot sign in after activation`);
  return { email, password };
}

async function waitUntilReady(admin: ApiClient, ids: number[]): Promise<AdminVideo[]> {
  const deadline = Date.now() + TIMEOUT_MS;
  const done = new Map<number, AdminVideo>();
  while (done.size < ids.length) {
    if (Date.now() > deadline)
      throw new Error(`videos ${ids.filter((id) => !done.has(id))} not ready in time`);
    for (const id of ids.filter((id) => !done.has(id))) {
      const video = await admin.json<AdminVideo>("GET", `/api/admin/videos/${id}`, undefined, 200, "video");
      if (video.processing_state === "error")
        throw new Error(`video ${id} failed: ${video.processing_error}`);
      if (video.processing_state === "ready") {
        done.set(id, video);
        log(`video ${id} ready (${video.renditions.map((r) => r.name).join(", ")})`);
      }
    }
    if (done.size < ids.length) await Bun.sleep(1000);
  }
  return ids.map((id) => done.get(id)!);
}

async function main() {
  const mail: MailSource = env.MAILPIT_URL
    ? { kind: "mailpit", url: env.MAILPIT_URL.replace(/\/+$/, "") }
    : { kind: "dir", dir: resolve(env.MAIL_DIR ?? "var/mail") };
  const outDir = dirname(SEED_OUT);
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), "vf-seed-"));
  try {
    const { email, password } = adminCredentials();
    const admin = new ApiClient(BASE_URL);
    if (!(await admin.login(email, password))) throw new Error(`admin login as ${email} failed`);

    // Clips of earlier runs: ready ones are reused, ones still transcoding are waited for.
    const existing = (
      await admin.json<AdminVideo[]>("GET", "/api/admin/videos", undefined, 200, "list videos")
    )
      .filter((v) => v.title.startsWith(TITLE_PREFIX) && v.processing_state !== "error")
      .slice(0, VIDEOS);
    const ids = existing.map((v) => v.id);
    log(`${existing.length} clip(s) of an earlier seed reused, ${VIDEOS - ids.length} to upload`);

    const clip = join(scratch, "clip.mp4");
    const upload = join(outDir, "upload-clip.mp4");
    const width = Math.round((CLIP_HEIGHT * 16) / 9 / 2) * 2;
    const spec = { width, height: CLIP_HEIGHT, fps: 25, audio: "stereo" as const, faststart: true };
    await Promise.all([
      ids.length < VIDEOS ? generateVideo(clip, { ...spec, seconds: CLIP_SECONDS }) : null,
      // websocket.js uploads this one to have something transcoding while it listens.
      existsSync(upload) ? null : generateVideo(upload, { ...spec, seconds: UPLOAD_CLIP_SECONDS }),
    ]);
    for (let n = ids.length; n < VIDEOS; n++) {
      const form = new FormData();
      form.append("title", `${TITLE_PREFIX} ${String(n + 1).padStart(2, "0")}`);
      form.append("description", "Generated by load-tests/seed.ts (FFmpeg testsrc2).");
      form.append("category", CATEGORIES[n % CATEGORIES.length]!);
      form.append("file", Bun.file(clip), "clip.mp4");
      const video = await admin.json<AdminVideo>("POST", "/api/admin/videos", form, 202, "upload");
      log(`uploaded video ${video.id}`);
      ids.push(video.id);
    }

    // Viewers meanwhile: registration hashes passwords, the farm transcodes.
    const viewerPass = viewerPassword();
    const viewers: Viewer[] = [];
    for (let n = 1; n <= VIEWERS; n += 4) {
      const batch = Array.from({ length: Math.min(4, VIEWERS - n + 1) }, (_, i) =>
        ensureViewer(`${VIEWER_PREFIX}-${String(n + i).padStart(3, "0")}@example.com`, viewerPass, mail),
      );
      viewers.push(...(await Promise.all(batch)));
    }
    log(`${viewers.length} viewer(s) can sign in`);

    const videos = await waitUntilReady(admin, ids);
    const summary = {
      base_url: BASE_URL,
      seeded_at: new Date().toISOString(),
      viewers,
      videos: videos.map((v) => ({
        id: v.id,
        title: v.title,
        category: v.category,
        duration_seconds: v.duration_seconds,
        renditions: v.renditions,
      })),
      categories: CATEGORIES,
      upload_clip: "upload-clip.mp4",
    };
    // Readable by the k6 container's user too: these are throwaway accounts without privileges.
    writeFileSync(SEED_OUT, `${JSON.stringify(summary, null, 2)}\n`, { mode: 0o644 });
    log(`wrote ${SEED_OUT}`);
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main().catch((error: Error) => {
  console.error(`seed failed: ${error.message}`);
  process.exit(1);
});
