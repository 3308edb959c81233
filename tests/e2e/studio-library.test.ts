// The studio in Debian's Chromium against the real api and a real transcoder process: an admin signs in
// through the form and sees the library (a ready video with its poster and renditions, a failed one with
// its message and Retry); a video uploaded meanwhile appears, its progress bar moves over the WebSocket
// (no polling, no reload, no layout jump) until it is ready; an expired access token is refreshed once
// and the request sent again; a non-admin gets the no-access page; axe-core finds no serious or critical
// violation on any page; the page's CSP is never violated. Screenshots of the library with a video
// processing, at 1280 and 390 px wide, go to var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { ADMIN, type AdminVideo, adminClient } from "../support/admin.ts";
import { launchChromium } from "../support/browser.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
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
import { type Client, createActiveUser, type TestApi } from "../support/test-api.ts";

let stack: StudioStack;
let workDir: string;
let api: TestApi;
let admin: Client;
let transcoder: TranscoderProcess;
let browser: Browser;
let ready: AdminVideo;
let failed: AdminVideo;
/** The video uploaded while the studio watched. */
let uploaded: AdminVideo;
/** The admin's page at 1280 px, kept across the tests of the first describe. */
let desktop: StudioPage;

beforeAll(async () => {
  stack = await startStudioStack("studio-e2e", [
    ["ready.mp4", 3, 640, 360],
    ["whole.mp4", 2, 320, 180],
  ]);
  ({ workDir, api } = stack);
  const [readySource, wholeSource] = stack.sources as [string, string];
  admin = await adminClient(api);
  transcoder = startTranscoder(api, "studio-e2e");
  ready = await untilState(admin, (await uploadFile(api, admin, readySource)).id, "ready");
  // A source cut short: the transcoder refuses it with a readable message, for good (no retries).
  const truncated = join(workDir, "truncated.mp4");
  const whole = readFileSync(wholeSource);
  await Bun.write(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
  failed = await untilState(admin, (await uploadFile(api, admin, truncated)).id, "error");
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await transcoder?.stop();
  await stack?.stop();
});

const row = (studio: StudioPage, id: number) => studio.page.locator(`tr[data-video-id="${id}"]`);

describe("an admin in the studio", () => {
  test("signs in through the form and sees the library: poster, state, duration, renditions, errors", async () => {
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("heading", { name: "Library" }).waitFor();
    await page.getByRole("status").filter({ hasText: "Live updates" }).waitFor();

    const readyRow = row(desktop, ready.id);
    await readyRow.waitFor();
    expect(await readyRow.getAttribute("data-state")).toBe("ready");
    const readyText = (await readyRow.textContent()) ?? "";
    expect(readyText).toContain(ready.title);
    expect(readyText).toContain("Farm tests");
    expect(readyText).toContain("Ready");
    expect(readyText).toContain("0:03");
    for (const rendition of ready.renditions) expect(readyText).toContain(rendition.name);
    const poster = readyRow.locator("img.poster");
    await page.waitForFunction(
      (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0,
      await poster.elementHandle(),
    );

    const failedRow = row(desktop, failed.id);
    expect(await failedRow.getAttribute("data-state")).toBe("error");
    expect(await failedRow.textContent()).toContain(failed.processing_error!);
    await failedRow.getByRole("button", { name: `Retry transcoding ${failed.title}` }).waitFor();

    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("a video uploaded meanwhile appears, and its bar moves over the WebSocket until it is ready", async () => {
    const { page } = desktop;
    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("status").filter({ hasText: "Live updates" }).waitFor();
      // Survives only as long as the page is not reloaded.
      await page.evaluate(() => {
        (window as unknown as { notReloaded: boolean }).notReloaded = true;
      });
      const listRequestsBefore = desktop.requests.filter((r) =>
        r.startsWith("GET /api/admin/videos?"),
      ).length;

      const source = await farmSource(workDir, "long.mp4", 12, 1280, 720);
      const created = await uploadFile(api, admin, source);
      uploaded = created;
      const target = row(desktop, created.id);
      // It shows itself by its first progress tick, once a transcoder has started on it.
      await target.waitFor({ timeout: 90_000 });

      const percents: number[] = [];
      const heights = new Set<number>();
      let screenshots = false;
      for (;;) {
        // The state and the bar in one read: a row that turns ready between two reads has no bar left.
        const { state, percent } = await target.evaluate((element) => ({
          state: element.getAttribute("data-state"),
          percent: element.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow") ?? null,
        }));
        if (state === "ready") break;
        if (state === "error") throw new Error(`the video failed: ${await target.textContent()}`);
        if (state === "processing" && percent !== null) {
          const now = Number(percent);
          if (percents.at(-1) !== now) percents.push(now);
          heights.add(Math.round((await target.boundingBox())!.height));
          if (!screenshots && now > 5) {
            screenshots = true;
            // The stage and the time left beside the bar, as people read them.
            const caption = (await target.locator(".progress-caption").textContent()) ?? "";
            expect(caption).toMatch(
              /^(Inspecting source|Encoding|Verifying|Making downloads|Making posters|Publishing)\d+%(about \d+(\.\d)? (s|min|h) left|estimating…)$/,
            );
            await page.screenshot({
              path: join(STUDIO_SCREENSHOTS, "studio-library-1280.png"),
              fullPage: true,
            });
            await row(phone, created.id).getByRole("progressbar").waitFor();
            await phone.page.screenshot({
              path: join(STUDIO_SCREENSHOTS, "studio-library-390.png"),
              fullPage: true,
            });
            expect(await seriousAxeViolations(page)).toEqual([]);
          }
        }
        await Bun.sleep(100);
      }
      // Moved through values between 0 and 100, never backwards, in a row whose size never changed.
      expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(2);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect([...heights]).toHaveLength(1);
      expect(screenshots).toBe(true);

      const readyText = (await target.textContent()) ?? "";
      expect(readyText).toContain("Ready");
      expect(readyText).toContain("0:12");
      expect(readyText).toContain("720p");
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
        true,
      );
      // Pushed, not polled: the list was not asked for again; the row was read by id on state changes.
      const listRequestsAfter = desktop.requests.filter((r) => r.startsWith("GET /api/admin/videos?")).length;
      expect(listRequestsAfter).toBe(listRequestsBefore);
      expect(desktop.requests).toContain(`GET /api/admin/videos/${created.id}`);
      // The phone hears the same push on its own socket and reads the row itself: it turns ready a
      // moment after the desktop, not necessarily at the same instant (a bounded wait, not a sleep).
      await phone.page
        .locator(`tr[data-video-id="${created.id}"][data-state="ready"]`)
        .waitFor({ timeout: 10_000 });
      expectNoProblems(phone);
      expectNoProblems(desktop);
    } finally {
      await phone.context.close();
    }
  }, 180_000);

  test("Retry sends a failed video to the transcoder again; it fails again with its message", async () => {
    const { page } = desktop;
    const failedRow = row(desktop, failed.id);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/admin/videos/${failed.id}/retry`)),
      failedRow.getByRole("button", { name: `Retry transcoding ${failed.title}` }).click(),
    ]);
    expect(response.status()).toBe(202);
    const again = await untilState(admin, failed.id, "error");
    expect(again.processing_error).toBe(failed.processing_error);
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-video-id="${id}"]`)?.getAttribute("data-state") === "error",
      failed.id,
    );
    await failedRow.getByRole("button", { name: `Retry transcoding ${failed.title}` }).waitFor();
    expectNoProblems(desktop);
  }, 60_000);

  test("an edit and a deletion made elsewhere show up live", async () => {
    const { page } = desktop;
    const edit = await admin.request("PATCH", `/api/admin/videos/${uploaded.id}`, {
      title: "Renamed elsewhere",
    });
    expect(edit.status).toBe(200);
    await row(desktop, uploaded.id).getByText("Renamed elsewhere").waitFor();
    const removal = await admin.request("DELETE", `/api/admin/videos/${uploaded.id}`);
    expect(removal.status).toBe(204);
    await row(desktop, uploaded.id).waitFor({ state: "detached" });
    expect(await page.locator("tr[data-video-id]").count()).toBe(2);
    expectNoProblems(desktop);
  }, 30_000);

  test("filters by state; an expired access token is refreshed once and the request sent again", async () => {
    const { page } = desktop;
    // Past the access token's lifetime (ACCESS_TOKEN_TTL, 30 min); the refresh token lives for days.
    api.shiftClock(31 * 60);
    const refreshesBefore = desktop.requests.filter((r) => r === "POST /api/token/refresh/").length;
    const [listing] = await Promise.all([
      page.waitForResponse(
        (r) =>
          r.url().includes("/api/admin/videos?") && r.url().includes("state=error") && r.status() === 200,
      ),
      page.getByLabel("State").selectOption("error"),
    ]);
    expect(listing.status()).toBe(200);
    await page.waitForFunction(() => document.querySelectorAll("tr[data-video-id]").length === 1);
    expect(await row(desktop, failed.id).isVisible()).toBe(true);
    expect(page.url()).toEndWith("/studio/?state=error");
    const refreshes =
      desktop.requests.filter((r) => r === "POST /api/token/refresh/").length - refreshesBefore;
    expect(refreshes).toBe(1);

    await page.getByLabel("Search").fill("no such title anywhere");
    await page.getByRole("heading", { name: "No videos match" }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await row(desktop, ready.id).waitFor();
    expectNoProblems(desktop);
  }, 60_000);

  test("signs out: the sign-in page comes back, and stays after a reload", async () => {
    const { page } = desktop;
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByText("You are signed out.").waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
    await desktop.context.close();
  }, 30_000);
});

describe("someone who is not an admin", () => {
  test("gets the no-access page, with a way to sign out", async () => {
    const account = await createActiveUser(api);
    const studio = await openStudioPage(browser, api.url);
    try {
      await signInThroughForm(studio, api.url, account);
      const { page } = studio;
      await page.getByRole("heading", { name: "No access to the studio" }).waitFor();
      await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-no-access-1280.png") });
      expect(await page.getByText(account.email).isVisible()).toBe(true);
      expect(await page.locator("tr[data-video-id]").count()).toBe(0);
      // The admin routes were never asked: the page knows from /api/me/ already.
      expect(studio.requests.some((r) => r.includes("/api/admin/"))).toBe(false);
      expect(await seriousAxeViolations(page)).toEqual([]);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      expectNoProblems(studio);
    } finally {
      await studio.context.close();
    }
  }, 30_000);

  test("a wrong password gets a readable message on the form", async () => {
    const studio = await openStudioPage(browser, api.url);
    try {
      await signInThroughForm(studio, api.url, { email: ADMIN.email, password: "not-the-password-0000" });
      const alert = studio.page.getByRole("alert");
      await alert.waitFor();
      await studio.page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-sign-in-1280.png") });
      expect(await alert.textContent()).toBe(
        "The email or the password is not right, or the account is not active.",
      );
      expect(await studio.page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
      expect(await seriousAxeViolations(studio.page)).toEqual([]);
      expectNoProblems(studio);
    } finally {
      await studio.context.close();
    }
  }, 30_000);
});
