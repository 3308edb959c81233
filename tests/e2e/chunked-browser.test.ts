// A stitched ladder in a real browser: a 16 s film cut into four 4 s chunks (cuts at 4, 8 and 12 s) is
// published through the api, and hls.js in headless Chromium plays across each cut after a seek to a
// second before it: no stall while crossing, one buffered range over the cut, no fatal error. A
// screenshot of the player is kept for a person to look at (CHUNKED_BROWSER_SHOT, when set).
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

const CUTS = [4, 8, 12];
let api: TestApi;
let pages: Server<undefined>;
let browser: Browser;
let workDir: string;
let videoId: number;
let chunks = 0;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-chunked-browser-"));
  pages = servePlayerPage();
  const [started, source] = await Promise.all([
    startTestApi({ ...ADMIN_ENV, CORS_ORIGINS: `http://127.0.0.1:${pages.port}` }),
    generateVideo(join(workDir, "source.mp4"), {
      seconds: 16,
      width: 640,
      height: 360,
      fps: 25,
      audio: "stereo",
    }),
  ]);
  api = started;
  const admin = await adminClient(api);
  videoId = (await createVideo(api, admin, { title: "Stitched" })).id;
  const staging = await api.runtime.storage.createStagingDir("chunked-browser-test");
  const result = await transcode({
    sourcePath: source,
    outputDir: staging,
    segmentSeconds: 2,
    preset: "ultrafast",
    ladderHeights: [180, 360],
    thumbnails: false,
    chunking: { minSeconds: 5, segments: 2, scratchDir: join(workDir, "scratch") },
    log: {
      debug() {},
      warn() {},
      info: (details) => {
        chunks ||= (details as { chunks?: number }).chunks ?? 0;
      },
    },
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

describe("hls.js across the cuts of a stitched ladder", () => {
  test("plays over every cut after a seek just before it, without a stall or a gap", async () => {
    expect(chunks).toBe(4);
    const account = await createActiveUser(api);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // Nothing but the page's own server and the api: any other origin is refused.
      const allowed = [`http://127.0.0.1:${pages.port}`, api.url];
      await page.route("**/*", (route) =>
        allowed.some((origin) => route.request().url().startsWith(origin)) ? route.continue() : route.abort(),
      );
      await page.goto(`http://127.0.0.1:${pages.port}/`);
      await page.evaluate(
        ([base, credentials, id]) =>
          (window as unknown as { startPlayback: (...args: unknown[]) => Promise<number[]> }).startPlayback(
            base,
            credentials,
            id,
          ),
        [api.url, account, videoId] as const,
      );
      await page.evaluate(() => {
        const video = document.getElementById("player") as HTMLVideoElement;
        const state = window as unknown as { stalls: number[] };
        state.stalls = [];
        video.addEventListener("waiting", () => state.stalls.push(video.currentTime));
      });
      const currentTime = () =>
        page.evaluate(() => (document.getElementById("player") as HTMLVideoElement).currentTime);
      for (const cut of CUTS) {
        await page.evaluate((at) => {
          (document.getElementById("player") as HTMLVideoElement).currentTime = at;
        }, cut - 1);
        // Playing again after the seek: from here until past the cut, a `waiting` would be a stall.
        await eventually(
          `playback to resume before the cut at ${cut} s`,
          async () => (await currentTime()) > cut - 0.8,
          20_000,
          20,
        );
        await page.evaluate(() => {
          (window as unknown as { stalls: number[] }).stalls = [];
        });
        await eventually(
          `playback past the cut at ${cut} s`,
          async () => (await currentTime()) > cut + 0.5,
          20_000,
          20,
        );
        const crossing = await page.evaluate(() => {
          const video = document.getElementById("player") as HTMLVideoElement;
          const ranges = Array.from({ length: video.buffered.length }, (_, i) => [
            video.buffered.start(i),
            video.buffered.end(i),
          ]);
          return { stalls: (window as unknown as { stalls: number[] }).stalls, ranges };
        });
        expect(crossing.stalls).toEqual([]);
        const over = crossing.ranges.filter(([start, end]) => start! <= cut - 0.5 && end! >= cut + 0.5);
        expect(over).toHaveLength(1);
      }
      const errors = await page.evaluate(() => (window as unknown as { errors: string[] }).errors);
      expect(errors).toEqual([]);
      const shot = process.env.CHUNKED_BROWSER_SHOT;
      if (shot) await page.screenshot({ path: shot });
    } finally {
      await context.close();
    }
  }, 90_000);
});
