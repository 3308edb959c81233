// The studio's Farm page in Debian's Chromium against the real api and real transcoder processes: the
// transcoder is listed with its encoder and shows the job it runs, its bar moving over the WebSocket
// while the video transcodes (the card never changes size); a job that failed shows with its error;
// a transcoder killed without a word turns quiet instead of vanishing; Retry re-queues the failed job
// (the list updates: the row leaves while no transcoder can take it, and comes back when a new one
// fails it again); the queue dashboard link leads to bull-board. axe-core finds no serious or critical
// violation, the CSP is never violated. Screenshots at 1280 and 390 px go to var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser, Locator } from "playwright-core";
import { ADMIN, type AdminVideo, adminClient, getVideo } from "../support/admin.ts";
import { launchChromium } from "../support/browser.ts";
import { eventually } from "../support/eventually.ts";
import { startTranscoder, type TranscoderProcess, untilState, uploadFile } from "../support/farm.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import {
  openStudioPage,
  type StudioPage,
  seriousAxeViolations,
  signInThroughForm,
} from "../support/studio.ts";
import {
  expectNoProblems,
  STUDIO_SCREENSHOTS,
  type StudioStack,
  startStudioStack,
} from "../support/studio-stack.ts";
import type { Client, TestApi } from "../support/test-api.ts";

const WORKER = "studio-farm-e2e";
const SECOND_WORKER = "studio-farm-e2e-2";
let stack: StudioStack;
let api: TestApi;
let admin: Client;
let transcoder: TranscoderProcess | null = null;
let secondTranscoder: TranscoderProcess | null = null;
let browser: Browser;
let desktop: StudioPage;
/** The video whose source FFmpeg cannot decode: its job is in the farm's failed list. */
let broken: AdminVideo;

beforeAll(async () => {
  stack = await startStudioStack("studio-farm", [["long.mp4", 12, 1280, 720]]);
  ({ api } = stack);
  admin = await adminClient(api);
  transcoder = startTranscoder(api, WORKER);
  // Passes the upload's sniffing (an MP4's first bytes), then nothing FFmpeg can decode: the worker
  // refuses it with a readable message and the job lands in the queue's failed set.
  const real = await tinyMp4Bytes();
  const bytes = new Uint8Array(64 * 1024);
  bytes.set(real.subarray(0, 32));
  const brokenPath = join(stack.workDir, "broken.mp4");
  await Bun.write(brokenPath, bytes);
  broken = await untilState(admin, (await uploadFile(api, admin, brokenPath)).id, "error");
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await transcoder?.stop();
  await secondTranscoder?.stop();
  await stack?.stop();
});

const card = (studio: StudioPage, name: string) => studio.page.locator(`li[data-transcoder="${name}"]`);
const failedRow = (studio: StudioPage, videoId: number) =>
  studio.page.locator(`li.failed-job[data-job-id="video-${videoId}-r1"]`);
const stat = (studio: StudioPage, label: string) =>
  studio.page
    .locator(".stat")
    .filter({ has: studio.page.locator("dt", { hasText: label }) })
    .locator(".stat-value");
const height = async (locator: Locator) => Math.round((await locator.boundingBox())!.height);

describe("the Farm page", () => {
  test("is in the navigation; lists the transcoder with its encoder, and the failed job with its error", async () => {
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("heading", { name: "Library" }).waitFor();
    // Keyboard only: the navigation's link, focused and followed with Enter.
    const navigation = page.getByRole("navigation", { name: "Studio" });
    await navigation.getByRole("link", { name: "Farm", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Farm", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/studio/farm");
    const current = navigation.locator('[aria-current="page"]');
    expect(await current.count()).toBe(1);
    expect(await current.textContent()).toBe("Farm");
    await page.getByRole("status").filter({ hasText: "Live updates" }).waitFor();

    const worker = card(desktop, WORKER);
    await worker.waitFor();
    expect(await worker.getAttribute("data-quiet")).toBe("false");
    const text = (await worker.textContent()) ?? "";
    expect(text).toContain("Online");
    expect(text).toContain("CPU");
    expect(text).toContain("libx264");
    expect(text).toContain("Idle, waiting for a job");

    const row = failedRow(desktop, broken.id);
    await row.waitFor();
    expect(await row.locator(".error-message").textContent()).toBe(broken.processing_error!);
    expect(await row.getByRole("link", { name: broken.title }).getAttribute("href")).toBe(
      `/studio/videos/${broken.id}`,
    );
    await row.getByRole("button", { name: `Retry the job of ${broken.title}` }).waitFor();
    expect(await stat(desktop, "Failed").first().textContent()).toBe("1");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("shows the job a transcoder runs, its bar moving live, in a card that keeps its size", async () => {
    const { page } = desktop;
    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("heading", { name: "Library" }).waitFor();
      await phone.page.goto(`${api.url}/studio/farm`);
      await card(phone, WORKER).waitFor();

      const video = await uploadFile(api, admin, stack.sources[0]!);
      const worker = card(desktop, WORKER);
      const slot = worker.locator(`[data-job-id="video-${video.id}-r1"]`);
      await slot.waitFor({ timeout: 90_000 });
      expect(await slot.getByRole("link", { name: video.title }).getAttribute("href")).toBe(
        `/studio/videos/${video.id}`,
      );
      const percents: number[] = [];
      const heights = new Set<number>([await height(worker)]);
      let screenshots = false;
      for (;;) {
        if ((await slot.count()) === 0) break;
        const bar = slot.getByRole("progressbar");
        if ((await bar.count()) === 1) {
          const now = Number(await bar.getAttribute("aria-valuenow"));
          if (percents.at(-1) !== now) percents.push(now);
          heights.add(await height(worker));
          if (!screenshots && now > 5) {
            screenshots = true;
            await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-farm-1280.png"), fullPage: true });
            await card(phone, WORKER).locator(`[data-job-id="video-${video.id}-r1"]`).waitFor();
            await phone.page.screenshot({
              path: join(STUDIO_SCREENSHOTS, "studio-farm-390.png"),
              fullPage: true,
            });
            // Nothing wider than the phone: no sideways scrolling of the page.
            expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
              390,
            );
            expect(await seriousAxeViolations(page)).toEqual([]);
            expect(await seriousAxeViolations(phone.page)).toEqual([]);
          }
        }
        await Bun.sleep(100);
      }
      await untilState(admin, video.id, "ready");
      // Moved through values between 0 and 100, never backwards; the card's size never changed.
      expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(2);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(screenshots).toBe(true);
      await worker.getByText("Idle, waiting for a job").waitFor();
      heights.add(await height(worker));
      expect([...heights]).toHaveLength(1);
      // The finished run counts in the throughput (the broken one's failure does not: it is no "done").
      await page.waitForFunction(() =>
        [...document.querySelectorAll(".stat")].some(
          (tile) =>
            tile.querySelector("dt")?.textContent === "Done · 15 min" &&
            tile.querySelector(".stat-value")?.textContent === "1",
        ),
      );
      expectNoProblems(phone);
      expectNoProblems(desktop);
    } finally {
      await phone.context.close();
    }
  }, 180_000);

  test("a transcoder killed without a word is shown as quiet, not dropped", async () => {
    await transcoder!.kill9();
    transcoder = null;
    const worker = card(desktop, WORKER);
    // Quiet after 15 s without a heartbeat, seen at the page's next read of the farm.
    await desktop.page.waitForFunction(
      (name) =>
        document.querySelector(`li[data-transcoder="${name}"]`)?.getAttribute("data-quiet") === "true",
      WORKER,
      { timeout: 45_000 },
    );
    const text = (await worker.textContent()) ?? "";
    expect(text).toContain("Quiet");
    expect(text).toContain("No heartbeat for over 15 s");
    expect(text).toMatch(/Heartbeat\d+ (s|min) ago/);
    expect(await desktop.page.locator(".section-count").first().textContent()).toBe("0 online, 1 quiet");
    expect(await seriousAxeViolations(desktop.page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("Retry re-queues the failed job: it leaves the list, and comes back when it fails again", async () => {
    const { page } = desktop;
    const row = failedRow(desktop, broken.id);
    const failedAt = await row.locator("time").getAttribute("datetime");
    const button = row.getByRole("button", { name: `Retry the job of ${broken.title}` });
    await button.focus();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/admin/farm/failed/video-${broken.id}-r1/retry`)),
      page.keyboard.press("Enter"),
    ]);
    expect(response.status()).toBe(202);
    await page
      .getByRole("status")
      .filter({ hasText: `“${broken.title}” is queued again` })
      .waitFor();
    // No transcoder is online to take it: it waits in the queue, out of the failed list.
    await row.waitFor({ state: "detached" });
    expect((await getVideo(admin, broken.id)).processing_state).toBe("pending");
    await page.getByRole("heading", { name: "No failed jobs" }).waitFor();
    await page.waitForFunction(() =>
      [...document.querySelectorAll(".stat")].some(
        (tile) =>
          tile.querySelector("dt")?.textContent === "Waiting" &&
          tile.querySelector(".stat-value")?.textContent === "1",
      ),
    );
    expect(await seriousAxeViolations(page)).toEqual([]);

    // A new transcoder comes online, takes the job and fails it again: the row is back, failed later.
    secondTranscoder = startTranscoder(api, SECOND_WORKER);
    await card(desktop, SECOND_WORKER).waitFor({ timeout: 45_000 });
    await untilState(admin, broken.id, "error");
    await row.waitFor({ timeout: 30_000 });
    const failedAgain = await eventually("the second failure's time", async () => {
      const at = await row.locator("time").getAttribute("datetime");
      return at !== failedAt ? at : undefined;
    });
    expect(Date.parse(failedAgain!)).toBeGreaterThan(Date.parse(failedAt!));
    expect(await row.locator(".error-message").textContent()).toBe(broken.processing_error!);
    // The "queued again" notice was about the retry; the new failure's row replaces it.
    await page.getByText(`“${broken.title}” is queued again`).waitFor({ state: "detached" });
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-farm-quiet-1280.png"), fullPage: true });
    expectNoProblems(desktop);
  }, 120_000);

  test("the queue dashboard link leads to bull-board", async () => {
    const { page } = desktop;
    // The studio's pages asked no other origin (bull-board's own page asks Google for its font).
    expectNoProblems(desktop);
    const link = page.getByRole("link", { name: "Queue dashboard" });
    expect(await link.getAttribute("href")).toBe(`${api.url}/admin/queues`);
    const [response] = await Promise.all([page.waitForNavigation(), link.click()]);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/admin/queues");
    await page.getByText("Videoflix queues").first().waitFor();
  }, 30_000);
});
