// The studio's Farm page in Debian's Chromium against the real api and real transcoder processes: the
// transcoder is listed with its encoder and shows the job it runs, its bar moving over the WebSocket
// while the video transcodes (the card never changes size); a job that failed shows with its error;
// a transcoder killed without a word while it runs a job turns quiet in place instead of vanishing (what
// it was running shown, its card the same size); Retry re-queues the failed job (the list updates: the
// row leaves while no transcoder can take it, and comes back when a new one fails it again), a refused
// Retry says why and reads the list again; a failed refresh is told over the page without moving it, and
// marks the cards unconfirmed; a hidden tab reads nothing; the queue dashboard link leads to bull-board.
// axe-core finds no serious or critical violation, the CSP is never violated. Screenshots at 1280 and
// 390 px go to var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Browser, Locator, Page } from "playwright-core";
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
const top = async (locator: Locator) => Math.round((await locator.boundingBox())!.y);
/** What the browser says of a hidden tab (a tab in the background, a minimised window). */
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((value) => {
    Object.defineProperty(document, "visibilityState", {
      configurable: true,
      get: () => (value ? "hidden" : "visible"),
    });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);

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
        // One read in the page, which never waits: the job may end between two locator calls, and a
        // locator's getAttribute would then wait its full timeout for a bar that is gone for good.
        const shown = await worker.evaluate((element, selector) => {
          const job = element.querySelector(selector);
          const bar = job?.querySelector('[role="progressbar"]');
          return { job: job !== null, percent: bar ? Number(bar.getAttribute("aria-valuenow")) : null };
        }, `[data-job-id="video-${video.id}-r1"]`);
        if (!shown.job) break;
        if (shown.percent !== null) {
          const now = shown.percent;
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
      // Moved through values between 0 and 100; the card's size never changed.
      expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(2);
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

  test("a transcoder killed without a word while it runs a job turns quiet in place, the job shown", async () => {
    const { page } = desktop;
    const video = await uploadFile(api, admin, stack.sources[0]!);
    const worker = card(desktop, WORKER);
    const slot = worker.locator(`[data-job-id="video-${video.id}-r1"]`);
    await slot.getByRole("progressbar").waitFor({ timeout: 90_000 });
    const before = { height: await height(worker), top: await top(worker) };
    await transcoder!.kill9();
    transcoder = null;
    // Quiet after 15 s without a heartbeat, seen at the page's next read of the farm.
    await page.waitForFunction(
      (name) =>
        document.querySelector(`li[data-transcoder="${name}"]`)?.getAttribute("data-quiet") === "true",
      WORKER,
      { timeout: 45_000 },
    );
    const text = (await worker.textContent()) ?? "";
    expect(text).toContain("Quiet");
    expect(text).toContain("No heartbeat for over 15 s");
    expect(text).toMatch(/Heartbeat\d+ (s|min) ago/);
    // What it was running when it went silent, where its bar was; the card where it was, as tall.
    expect(await slot.locator(".job-was").textContent()).toBe("Was running");
    expect(await slot.getByRole("link", { name: video.title }).getAttribute("href")).toBe(
      `/studio/videos/${video.id}`,
    );
    expect(await slot.locator(".job-last-heard").textContent()).toMatch(/^Last heard at \d+ % \(\w[\w-]*\)$/);
    expect(await slot.getByRole("progressbar").count()).toBe(0);
    expect({ height: await height(worker), top: await top(worker) }).toEqual(before);
    expect(await page.locator(".section-count").first().textContent()).toBe("0 online, 1 quiet");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-farm-quiet-1280.png"), fullPage: true });
    // Its job's run is over; deleted now, the video's job (still held by the dead one's lock) fails on
    // its missing source once a transcoder takes it over: that failure is never listed.
    expect((await admin.request("DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);
    expectNoProblems(desktop);
  }, 150_000);

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
    // The focus went to what the page says of the retry, not to the page's start with the row.
    expect(await page.evaluate(() => document.activeElement?.textContent ?? "")).toContain("is queued again");
    // Waiting: the retried job (and the deleted video's, once the dead transcoder's lock lapsed).
    await page.waitForFunction(() =>
      [...document.querySelectorAll(".stat")].some(
        (tile) =>
          tile.querySelector("dt")?.textContent === "Waiting" &&
          Number(tile.querySelector(".stat-value")?.textContent) >= 1,
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
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-farm-retried-1280.png"), fullPage: true });
    expectNoProblems(desktop);
  }, 120_000);

  test("a Retry the api refuses says why, and the list is read again", async () => {
    const { page } = desktop;
    const row = failedRow(desktop, broken.id);
    await row.waitFor();
    // The file replaced behind this page's back (its list is older than the replacement).
    await api.database.db.execute(sql`UPDATE videos SET revision = revision + 1 WHERE id = ${broken.id}`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/admin/farm/failed/video-${broken.id}-r1/retry`)),
      row.getByRole("button", { name: `Retry the job of ${broken.title}` }).click(),
    ]);
    expect(response.status()).toBe(409);
    const notice = page
      .getByRole("status")
      .filter({ hasText: "Not retried: The video's file was replaced since" });
    await notice.waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent ?? "")).toContain("Not retried");
    // Read again: the job, which nothing can retry now, is gone from the list.
    await row.waitFor({ state: "detached" });
    await page.getByRole("heading", { name: "No failed jobs" }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Dismiss" }).click();
    await notice.waitFor({ state: "detached" });
    expectNoProblems(desktop);
  }, 60_000);

  test("a Retry of a job whose video was deleted meanwhile: 404 said, and the row goes", async () => {
    const { page } = desktop;
    const path = join(stack.workDir, "broken-again.mp4");
    await Bun.write(path, Bun.file(join(stack.workDir, "broken.mp4")));
    const doomed = await untilState(admin, (await uploadFile(api, admin, path)).id, "error");
    const row = failedRow(desktop, doomed.id);
    await row.waitFor({ timeout: 30_000 });
    // Deleted behind this page's back: its list still shows the row, with a Retry. The video goes as the
    // click's request is on its way, not before: a refresh of the list read in between would drop the
    // job of a deleted video, and the row with it, before the click.
    const retryPath = `/api/admin/farm/failed/video-${doomed.id}-r1/retry`;
    await page.route(`**${retryPath}`, async (route) => {
      await api.database.db.execute(sql`DELETE FROM videos WHERE id = ${doomed.id}`);
      await route.continue();
    });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(retryPath)),
      row.getByRole("button", { name: `Retry the job of ${doomed.title}` }).click(),
    ]);
    await page.unroute(`**${retryPath}`);
    expect(response.status()).toBe(404);
    await page
      .getByRole("status")
      .filter({ hasText: "Not retried: The video of this job was deleted; the job is removed." })
      .waitFor();
    await row.waitFor({ state: "detached" });
    await page.getByRole("heading", { name: "No failed jobs" }).waitFor();
    await page.getByRole("button", { name: "Dismiss" }).click();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Failed jobs");
    expectNoProblems(desktop);
  }, 90_000);

  test("a refresh that fails is told over the page, which does not move; the cards say online is unconfirmed", async () => {
    const { page } = desktop;
    const figures = page.locator(".farm-figures");
    const figuresTop = await top(figures);
    const online = card(desktop, SECOND_WORKER);
    expect(await online.getAttribute("data-status")).toBe("online");
    await page.route("**/api/admin/farm", (route) =>
      route.fulfill({ status: 503, contentType: "application/json", body: '{"detail":"Redis is away."}' }),
    );
    try {
      const toast = page.getByRole("alert").filter({ hasText: "The figures could not be refreshed" });
      await toast.waitFor({ timeout: 30_000 });
      expect(await online.getAttribute("data-status")).toBe("unconfirmed");
      expect(await online.locator(".badge").textContent()).toBe("Unconfirmed");
      expect(await top(figures)).toBe(figuresTop);
      await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-farm-refresh-error-1280.png") });
      expect(await seriousAxeViolations(page)).toEqual([]);
    } finally {
      await page.unroute("**/api/admin/farm");
    }
    await page.locator(".farm-refresh-error").waitFor({ state: "detached", timeout: 30_000 });
    expect(await online.getAttribute("data-status")).toBe("online");
    expectNoProblems(desktop);
  }, 90_000);

  test("a hidden tab reads nothing, whatever happens; shown again, it reads the farm", async () => {
    const { page } = desktop;
    const farmReads = () => desktop.requests.filter((line) => line.startsWith("GET /api/admin/farm")).length;
    await setHidden(page, true);
    const readsWhileHidden = farmReads();
    // Video events (created, processing, ready) and ticks arrive meanwhile, each of which reads the farm
    // on a visible page.
    const tiny = join(stack.workDir, "while-hidden.mp4");
    await Bun.write(tiny, await tinyMp4Bytes());
    const video = await uploadFile(api, admin, tiny);
    await untilState(admin, video.id, "ready");
    expect(farmReads()).toBe(readsWhileHidden);
    await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === "/api/admin/farm"),
      setHidden(page, false),
    ]);
    expectNoProblems(desktop);
  }, 90_000);

  test("the queue dashboard link leads to bull-board", async () => {
    const { page } = desktop;
    expectNoProblems(desktop);
    const link = page.getByRole("link", { name: "Queue dashboard" });
    expect(await link.getAttribute("href")).toBe(`${api.url}/admin/queues`);
    const [response] = await Promise.all([page.waitForNavigation(), link.click()]);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/admin/queues");
    await page.getByText("Videoflix queues").first().waitFor();
    // bull-board's page asks no other origin either (its package's template asks Google for a font).
    expectNoProblems(desktop);
  }, 30_000);
});
