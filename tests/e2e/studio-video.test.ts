// The studio's video page in Debian's Chromium against the real api and a real transcoder process: an
// admin opens a ready video from the library, plays it with hls.js and switches rendition (the level
// changes and playback goes on), sees every poster size, the storyboard, the MP4 downloads and the job's
// history; edits the title (400 messages under the field; the library and GET /api/video/ show the new
// one); replaces the file (the page says the old revision stays playable while the new one waits, then
// the new one reaches ready live); deletes it through a confirmation that names it (Escape closes it).
// axe-core finds no serious or critical violation; the page's CSP is never violated. Screenshots at
// 1280 and 390 px go to var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { formatBitrate } from "../../studio/src/ui/format.ts";
import { ADMIN, type AdminVideo, adminClient, getVideo } from "../support/admin.ts";
import { launchChromium } from "../support/browser.ts";
import { startTranscoder, type TranscoderProcess, untilState, uploadFile } from "../support/farm.ts";
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

/** Two cheap rungs with short segments, so a switch shows within a few seconds of playback. */
const TRANSCODER_ENV = { TRANSCODER_LADDER: "180,360", HLS_SEGMENT_SECONDS: "2" };

let stack: StudioStack;
let api: TestApi;
let admin: Client;
let transcoder: TranscoderProcess | null = null;
let browser: Browser;
let video: AdminVideo;
let replacementSource: string;
let desktop: StudioPage;

beforeAll(async () => {
  stack = await startStudioStack("studio-video-e2e", [
    ["film.mp4", 12, 640, 360],
    ["recut.mp4", 4, 640, 360],
  ]);
  ({ api } = stack);
  const [source, replacement] = stack.sources as [string, string];
  replacementSource = replacement;
  admin = await adminClient(api);
  transcoder = startTranscoder(api, "studio-video-e2e", TRANSCODER_ENV);
  video = await untilState(admin, (await uploadFile(api, admin, source)).id, "ready", 150_000);
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await transcoder?.stop();
  await stack?.stop();
});

/** What hls.js says about the page's player (the page hangs it on the <video> for inspection). */
const playerState = (studio: StudioPage) =>
  studio.page.evaluate(() => {
    const media = document.querySelector("video.player-video") as HTMLVideoElement & {
      hls?: { currentLevel: number; levels: Array<{ height: number; bitrate: number }> };
    };
    return {
      currentTime: media.currentTime,
      currentLevel: media.hls?.currentLevel ?? -2,
      levels: media.hls?.levels.map((level) => ({ height: level.height, bitrate: level.bitrate })) ?? [],
    };
  });

describe("the video page", () => {
  test("opens from the library and plays with hls.js; the rendition picker switches the level", async () => {
    expect(video.renditions.map((rendition) => rendition.name).sort()).toEqual(["180p", "360p"]);
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("link", { name: video.title }).click();
    await page.waitForURL(`${api.url}/studio/videos/${video.id}`);
    await page.getByRole("heading", { name: video.title, level: 1 }).waitFor();
    await page.getByRole("status").filter({ hasText: "Live updates" }).waitFor();

    // Each rung with the bandwidth the master playlist states (BANDWIDTH = the admin payload's).
    const picker = page.getByRole("group", { name: "Rendition" });
    await picker.getByRole("radio", { name: /^Auto/ }).waitFor();
    for (const rendition of video.renditions) {
      const option = picker.locator("label").filter({ hasText: rendition.name });
      expect(await option.textContent()).toContain(formatBitrate(rendition.bandwidth));
    }
    await page.waitForFunction(() => {
      const media = document.querySelector("video.player-video") as HTMLVideoElement & {
        hls?: { levels: unknown[] };
      };
      return (media.hls?.levels.length ?? 0) === 2;
    });

    await page.evaluate(async () => {
      const media = document.querySelector("video.player-video") as HTMLVideoElement;
      media.muted = true;
      await media.play();
    });
    await page.waitForFunction(
      () => (document.querySelector("video.player-video") as HTMLVideoElement).currentTime > 0.5,
    );
    const before = await playerState(desktop);
    const lowest = before.levels.findIndex((level) => level.height === 180);
    const target =
      before.currentLevel === lowest ? before.levels.findIndex((level) => level.height === 360) : lowest;
    const targetName = `${before.levels[target]!.height}p`;
    await picker.locator("label").filter({ hasText: targetName }).click();
    await page.getByText(`Playing ${targetName}`, { exact: true }).waitFor();
    const switched = await playerState(desktop);
    expect(switched.currentLevel).toBe(target);
    expect(switched.currentLevel).not.toBe(before.currentLevel);
    await page.waitForFunction(
      (after) => (document.querySelector("video.player-video") as HTMLVideoElement).currentTime > after + 0.5,
      switched.currentTime,
    );
    expect(await picker.getByRole("radio", { name: new RegExp(`^${targetName}`) }).isChecked()).toBe(true);
    expectNoProblems(desktop);
  }, 90_000);

  test("shows every poster size, the storyboard, the MP4 downloads and the job's history; axe-core clean", async () => {
    const { page } = desktop;
    expect(video.posters.length).toBeGreaterThan(1);
    expect(video.storyboard_url).not.toBeNull();
    const loaded = (selector: string) =>
      page.waitForFunction(
        (css) =>
          [...document.querySelectorAll(css)].length > 0 &&
          [...document.querySelectorAll(css)].every(
            (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0,
          ),
        selector,
      );
    await loaded(".poster-size img");
    expect(await page.locator(".poster-size img").count()).toBe(video.posters.length);
    for (const poster of video.posters)
      await page.getByText(`${poster.width}×${poster.height}`).first().waitFor();
    await loaded(".storyboard-sheet");

    const listed = (await (await admin.request("GET", `/api/videos/${video.id}`)).json()) as {
      renditions: Array<{ name: string; mp4_url?: string; size?: number }>;
    };
    const mp4s = listed.renditions.filter((rendition) => rendition.mp4_url);
    expect(mp4s.length).toBe(2);
    for (const mp4 of mp4s) {
      const link = page.getByRole("link", { name: `Download ${mp4.name} MP4` });
      expect(await link.getAttribute("href")).toBe(`${mp4.mp4_url}&download=1`);
      const answer = await page.request.get(`${mp4.mp4_url}&download=1`);
      expect(answer.status()).toBe(200);
      expect(answer.headers()["content-disposition"]).toContain("attachment");
    }

    // The job history route may not exist on this server: then the section says so, with no rows.
    const history = page.getByRole("region", { name: "Job history" });
    const attempts = await admin.request("GET", `/api/admin/videos/${video.id}/attempts`);
    if (attempts.status === 200) {
      const rows = (await attempts.json()) as Array<{ worker: string; revision: number; attempt: number }>;
      expect(rows.length).toBeGreaterThan(0);
      await history.locator("tbody tr").first().waitFor();
      expect(await history.locator("tbody tr").count()).toBe(rows.length);
      for (const [index, attempt] of rows.entries()) {
        const text = await history.locator("tbody tr").nth(index).textContent();
        expect(text).toContain(attempt.worker);
        expect(text).toContain(`r${attempt.revision} · #${attempt.attempt}`);
      }
    } else {
      expect(attempts.status).toBe(404);
      await history.getByText("not available").waitFor();
      expect(await history.locator("table").count()).toBe(0);
    }

    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-video-1280.png"), fullPage: true });
    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("heading", { name: "Library" }).waitFor();
      await phone.page.goto(`${api.url}/studio/videos/${video.id}`);
      await phone.page.getByRole("heading", { name: video.title, level: 1 }).waitFor();
      await phone.page.locator(".poster-size img").first().waitFor();
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
      expect(await seriousAxeViolations(phone.page)).toEqual([]);
      await phone.page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-video-390.png"), fullPage: true });
      expectNoProblems(phone);
    } finally {
      await phone.context.close();
    }
  }, 90_000);

  test("edits the title: a 400 shows under the field; the library and GET /api/video/ show the new one", async () => {
    const { page } = desktop;
    const title = page.getByLabel("Title", { exact: true });
    await title.fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    // The api's own 400 for the same request: its message is shown under the field it names.
    const refused = await admin.request("PATCH", `/api/admin/videos/${video.id}`, { title: "" });
    expect(refused.status).toBe(400);
    const [message] = ((await refused.json()) as { title: string[] }).title;
    await page.locator(".field-error").filter({ hasText: message! }).waitFor();
    expect(await title.getAttribute("aria-invalid")).toBe("true");
    expect(await title.getAttribute("aria-describedby")).toBe(
      await page.locator(".field-error").getAttribute("id"),
    );
    expect((await getVideo(admin, video.id)).title).toBe(video.title);

    const renamed = `Recut ${video.id}`;
    await title.fill(renamed);
    await page.getByLabel("Description").fill("A new cut, edited in the studio.");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.", { exact: false }).waitFor();
    await page.getByRole("heading", { name: renamed, level: 1 }).waitFor();
    const catalogue = (await (await admin.request("GET", "/api/video/")).json()) as Array<{
      id: number;
      title: string;
      description: string;
    }>;
    expect(catalogue.find((entry) => entry.id === video.id)).toMatchObject({
      title: renamed,
      description: "A new cut, edited in the studio.",
    });

    // A translation: a language the api does not support is refused with its message; German is kept.
    await page.getByLabel("Add a translation").fill("fr");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByLabel("Title (fr)").fill("Nouveau montage");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator(".form-error").filter({ hasText: "translations.fr" }).waitFor();
    await page.getByRole("button", { name: "Discard" }).click();
    await page.getByLabel("Add a translation").fill("de");
    await page.getByLabel("Add a translation").press("Enter");
    await page.getByLabel("Title (de)").fill("Neuer Schnitt");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.", { exact: false }).waitFor();
    expect((await getVideo(admin, video.id)).translations.de).toEqual({ title: "Neuer Schnitt" });

    await page.getByRole("link", { name: "← Library" }).click();
    const row = page.locator(`tr[data-video-id="${video.id}"]`);
    await row.getByRole("link", { name: renamed }).waitFor();
    await row.getByRole("link", { name: renamed }).click();
    await page.getByRole("heading", { name: renamed, level: 1 }).waitFor();
    video = await getVideo(admin, video.id);
    expectNoProblems(desktop);
  }, 60_000);

  test("replaces the file: the old revision stays playable meanwhile, the new one reaches ready live", async () => {
    const { page } = desktop;
    // No transcoder while the new file waits, so the page's "meanwhile" is seen for certain.
    await transcoder?.stop();
    transcoder = null;
    await page.getByLabel("Replace the file").setInputFiles(replacementSource);
    await page.getByRole("button", { name: "Upload new file" }).click();
    const note = page.getByText(`Revision 1 stays playable until revision 2 is ready.`);
    await note.waitFor();
    const waiting = page.locator('.revision[data-revision="2"]');
    expect(await waiting.textContent()).toContain("Queued");
    expect(await page.locator('.revision[data-revision="1"]').textContent()).toContain("Playing");
    // The old revision still plays: its master playlist answers and the player has its levels.
    expect((await page.request.get(`${api.url}/api/video/${video.id}/master.m3u8`)).status()).toBe(200);
    expect((await playerState(desktop)).levels.length).toBe(2);

    transcoder = startTranscoder(api, "studio-video-e2e-2", TRANSCODER_ENV);
    await note.waitFor({ state: "detached", timeout: 150_000 });
    await page.locator('.revision[data-revision="2"]').getByText("Playing").waitFor();
    const replaced = await getVideo(admin, video.id);
    expect(replaced).toMatchObject({ revision: 2, published_revision: 2, processing_state: "ready" });
    expect(replaced.duration_seconds).toBeLessThan(6);
    await page.getByText("0:04").first().waitFor();
    expectNoProblems(desktop);
  }, 180_000);

  test("deletes it through a confirmation that names it; Escape closes the dialog", async () => {
    const { page } = desktop;
    const title = (await getVideo(admin, video.id)).title;
    await page.getByRole("button", { name: "Delete video…" }).click();
    const dialog = page.getByRole("dialog", { name: `Delete “${title}”?` });
    await dialog.waitFor();
    // Focus starts on Cancel and stays inside while tabbing.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => Boolean(document.activeElement?.closest("dialog")))).toBe(true);
    }
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await admin.request("GET", `/api/admin/videos/${video.id}`)).status).toBe(200);

    await page.getByRole("button", { name: "Delete video…" }).click();
    await dialog.getByRole("button", { name: "Delete for good" }).click();
    await page.getByRole("heading", { name: "Video deleted" }).waitFor();
    expect((await admin.request("GET", `/api/admin/videos/${video.id}`)).status).toBe(404);
    await page.reload();
    await page.getByRole("heading", { name: "Video not found" }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);
});
