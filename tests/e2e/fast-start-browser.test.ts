// hls.js in headless Chromium starts a video on its fast-start master playlist (one rung, an EVENT
// playlist that grows while the pass runs) and keeps playing across the switch to the full ladder:
// no fatal error, no failed request, and a master fetched after the switch lists every rung.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import type { Browser } from "playwright-core";
import { generateVideo } from "../../dev/media.ts";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { launchChromium, servePlayerPage } from "../support/browser.ts";
import { startTranscoder, type TranscoderProcess, untilState, uploadFile } from "../support/farm.ts";
import { FAST_START_ENV, untilPlayable } from "../support/fast-start.ts";
import { type Client, createActiveUser, startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let admin: Client;
let pages: Server<undefined>;
let browser: Browser;
let worker: TranscoderProcess;
let workDir: string;
let sourcePath: string;

type PlayerWindow = {
  startPlayback: (...args: unknown[]) => Promise<number[]>;
  errors: string[];
  hls: { levels: Array<{ height: number }> };
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-fast-browser-"));
  pages = servePlayerPage();
  api = await startTestApi({ ...ADMIN_ENV, CORS_ORIGINS: `http://127.0.0.1:${pages.port}` });
  admin = await adminClient(api);
  sourcePath = await generateVideo(join(workDir, "long.mp4"), {
    seconds: 40,
    width: 854,
    height: 480,
    fps: 30,
    audio: "stereo",
  });
  worker = startTranscoder(api, "fast-browser", FAST_START_ENV);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await worker?.kill9();
  await browser?.close();
  pages?.stop(true);
  await api?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("hls.js across the switch from fast start to the ladder", () => {
  test("starts on the one fast-start rung, plays on through the switch, and a new master lists every rung", async () => {
    const account = await createActiveUser(api);
    const video = await uploadFile(api, admin, sourcePath);
    await untilPlayable(admin, video.id);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const responses: Array<{ url: string; status: number }> = [];
      page.on("response", (response) => {
        if (response.url().includes("/api/video/"))
          responses.push({ url: response.url(), status: response.status() });
      });
      await page.goto(`http://127.0.0.1:${pages.port}/`);
      const heights = await page.evaluate(
        ([base, credentials, id]) => (window as unknown as PlayerWindow).startPlayback(base, credentials, id),
        [api.url, account, video.id] as const,
      );
      expect(heights).toEqual([360]);
      const currentTime = () =>
        page.evaluate(() => (document.getElementById("player") as HTMLVideoElement).currentTime);

      await untilState(admin, video.id, "ready", 180_000);
      const atSwitch = await currentTime();
      // It started at the beginning (EXT-X-START), not at the live edge, and keeps going after the switch.
      await page.waitForFunction(
        (from) => (document.getElementById("player") as HTMLVideoElement).currentTime > from + 4,
        atSwitch,
        { timeout: 30_000 },
      );
      const errors = await page.evaluate(() => (window as unknown as PlayerWindow).errors);
      expect(errors).toEqual([]);
      expect(responses.filter((response) => response.status >= 400)).toEqual([]);
      const fastSegments = responses.filter((response) =>
        /\/360p\/seg_\d{5}\.ts\?v=1-fast&token=/.test(response.url),
      );
      expect(fastSegments.length).toBeGreaterThan(1);
      // The first segment it played was the first of the video.
      expect(responses.find((response) => response.url.includes("/seg_"))?.url).toContain("seg_00000.ts");

      // The next master fetch (a new player, signing in afresh) gets the ladder.
      const fresh = await browser.newContext();
      try {
        const second = await fresh.newPage();
        await second.goto(`http://127.0.0.1:${pages.port}/`);
        const ladder = await second.evaluate(
          ([base, credentials, id]) =>
            (window as unknown as PlayerWindow).startPlayback(base, credentials, id),
          [api.url, account, video.id] as const,
        );
        expect(ladder).toEqual([360, 480]);
      } finally {
        await fresh.close();
      }
    } finally {
      await context.close();
    }
  }, 300_000);
});
