// A real browser plays a real transcoded video through the api: headless Chromium (playwright-core)
// loads a page from its own origin (listed in CORS_ORIGINS), signs in with fetch (the api sets its
// HttpOnly cookies), and hls.js plays master.m3u8 with credentials. The master playlist has no token in
// its URL, so it only opens with the session cookie; everything after it follows the playlists' URIs.
// Needs Debian's Chromium at /usr/bin/chromium (`npm test` installs it); fails loudly without it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import type { Browser } from "playwright-core";
import { generateVideo } from "../../dev/media.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { launchChromium, servePlayerPage } from "../support/browser.ts";
import { eventually } from "../support/eventually.ts";
import { createActiveUser, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

let api: TestApi;
let pages: Server<undefined>;
let browser: Browser;
let workDir: string;
let videoId: number;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-browser-"));
  pages = servePlayerPage();
  const pageOrigin = `http://127.0.0.1:${pages.port}`;
  const [started, source] = await Promise.all([
    startTestApi({ ...ADMIN_ENV, CORS_ORIGINS: pageOrigin }),
    generateVideo(join(workDir, "source.mp4"), {
      seconds: 3,
      width: 640,
      height: 360,
      fps: 25,
      audio: "stereo",
    }),
  ]);
  api = started;
  const admin = await adminClient(api);
  videoId = (await createVideo(api, admin, { title: "Browser" })).id;
  const staging = await api.runtime.storage.createStagingDir("browser-test");
  const result = await transcode({
    sourcePath: source,
    outputDir: staging,
    segmentSeconds: 1,
    preset: "ultrafast",
    ladderHeights: [180, 360],
  });
  const transcoder = new TestTranscoder(api);
  await transcoder.publishReady(videoId, staging, result);
  await transcoder.close();
  await eventually(
    "the video to be ready",
    async () => (await getVideo(admin, videoId)).processing_state === "ready",
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  pages?.stop(true);
  await api?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("hls.js in headless Chromium", () => {
  test("plays the master playlist with the session cookie, with every quality level listed", async () => {
    const account = await createActiveUser(api);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const requests: Array<{ url: string; status: number }> = [];
      page.on("response", (response) => {
        if (response.url().includes("/api/video/"))
          requests.push({ url: response.url(), status: response.status() });
      });
      await page.goto(`http://127.0.0.1:${pages.port}/`);
      const heights = await page.evaluate(
        ([base, credentials, id]) =>
          (window as unknown as { startPlayback: (...args: unknown[]) => Promise<number[]> }).startPlayback(
            base,
            credentials,
            id,
          ),
        [api.url, account, videoId] as const,
      );
      expect(heights).toEqual([180, 360]);
      await page.waitForFunction(
        () => (document.getElementById("player") as HTMLVideoElement).currentTime > 1.2,
        undefined,
        { timeout: 20_000 },
      );
      const errors = await page.evaluate(() => (window as unknown as { errors: string[] }).errors);
      expect(errors).toEqual([]);

      // The master playlist opened with the cookie alone; the media playlists and segments with the
      // URIs the api wrote into it (each carrying the signed token).
      const master = requests.find((r) => r.url.endsWith(`/api/video/${videoId}/master.m3u8`));
      expect(master?.status).toBe(200);
      const segments = requests.filter((r) => /\/seg_\d{5}\.ts\?v=1&token=/.test(r.url));
      expect(segments.length).toBeGreaterThan(1);
      expect(segments.every((r) => r.status === 200)).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);
});
