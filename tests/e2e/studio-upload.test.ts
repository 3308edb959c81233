// The studio's upload panel in Debian's Chromium against the real api (tus at /api/uploads/) and a real
// transcoder: a generated 20 s video dropped on the drop zone (a real drop event with a DataTransfer)
// goes up in chunks, its bar moves without resizing its card, the title edited while it uploads reaches
// the video, and the video reaches `ready` in the library without a reload; an upload whose network is
// cut mid-transfer (playwright aborts its requests) retries, pauses with Resume, resumes, is cut again,
// and after a reload resumes from its fingerprint when the same file is chosen: one video, the same
// bytes, the right duration; Pause and Resume, and Cancel terminating the upload (DELETE); a text file
// named .mp4 and a file past MAX_UPLOAD_BYTES are refused with readable reasons. axe-core on the panel
// in each state; screenshots at 1280 and 390 px into var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, Route } from "playwright-core";
import { videos } from "../../db/schema/index.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { ADMIN, type AdminVideo, adminClient } from "../support/admin.ts";
import { launchChromium } from "../support/browser.ts";
import { startTranscoder, type TranscoderProcess } from "../support/farm.ts";
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

const CATEGORY = "Studio uploads";
/** The studio's chunk size (studio/src/upload/upload-task.ts). */
const CHUNK = 5 * 1024 * 1024;
/** Above both sources, below the file that must be refused as too big. */
const MAX_UPLOAD_BYTES = 20_000_000;

let stack: StudioStack;
let workDir: string;
let api: TestApi;
let admin: Client;
let transcoder: TranscoderProcess;
let browser: Browser;
let desktop: StudioPage;
/** 20 s at 720p: two chunks. */
let dropSource: string;
/** 30 s at 720p: three chunks, so it can be cut twice. */
let cutSource: string;

beforeAll(async () => {
  stack = await startStudioStack(
    "studio-upload",
    [
      ["Harbour at dawn.mp4", 20, 1280, 720],
      ["Night ferry.mp4", 30, 1280, 720],
    ],
    { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
  );
  ({ workDir, api } = stack);
  [dropSource, cutSource] = stack.sources as [string, string];
  expect(Bun.file(dropSource).size).toBeGreaterThan(CHUNK);
  expect(Bun.file(cutSource).size).toBeGreaterThan(2 * CHUNK);
  admin = await adminClient(api);
  expect((await admin.request("POST", "/api/admin/categories", { name: CATEGORY })).status).toBe(201);
  transcoder = startTranscoder(api, "studio-upload-e2e");
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await transcoder?.stop();
  await stack?.stop();
});

const card = (studio: StudioPage, fileName: string) =>
  studio.page.locator("li.upload-card").filter({ has: studio.page.getByText(fileName, { exact: true }) });

const videosTitled = (title: string) => api.database.db.select().from(videos).where(eq(videos.title, title));

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function durationOf(path: string): Promise<number> {
  const probe = await runProcess(
    ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
    { timeoutMs: 30_000 },
  );
  return Number(probe.stdout.trim());
}

/** A real drop on the drop zone: the file's bytes become a File in the page, carried by a DataTransfer. */
async function dropFile(studio: StudioPage, path: string, name: string) {
  const base64 = readFileSync(path).toString("base64");
  await studio.page.evaluate(
    ({ base64, name }) => {
      const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type: "video/mp4", lastModified: 1_700_000_000_000 }));
      const zone = document.querySelector('[aria-label="Drop zone"]');
      if (!zone) throw new Error("no drop zone");
      for (const type of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
      }
    },
    { base64, name },
  );
}

describe("the upload panel", () => {
  test("an admin opens it from the navigation: an empty drop zone, labelled, keyboard usable", async () => {
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("heading", { name: "Library" }).waitFor();
    await page.getByRole("navigation", { name: "Studio" }).getByRole("link", { name: "Upload" }).click();
    await page.getByRole("heading", { name: "Upload" }).waitFor();
    expect(page.url()).toEndWith("/studio/upload");
    expect(await page.getByRole("link", { name: "Upload" }).getAttribute("aria-current")).toBe("page");
    await page.getByText("Drag video files here").waitFor();
    // The picker button is reachable with Tab and opens the file chooser from the keyboard.
    const chooser = page.waitForEvent("filechooser");
    await page.getByRole("button", { name: "Choose files" }).focus();
    await page.keyboard.press("Enter");
    expect((await chooser).isMultiple()).toBe(true);
    expect(await page.locator("li.upload-card").count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("a dropped 20 s video goes up with a moving bar, keeps the title edited meanwhile, and becomes ready in the library live", async () => {
    const { page } = desktop;
    // Each chunk waits a little on its way out, so that the bar is seen between its ends.
    const slowChunks = async (route: Route) => {
      if (route.request().method() === "PATCH") await Bun.sleep(1_500);
      await route.continue().catch(() => undefined);
    };
    await page.route("**/api/uploads/**", slowChunks);
    await dropFile(desktop, dropSource, "Harbour at dawn.mp4");
    const target = card(desktop, "Harbour at dawn.mp4");
    await target.waitFor();
    expect(await target.getAttribute("data-phase")).toBe("ready");
    expect(await target.getByLabel("Title").inputValue()).toBe("Harbour at dawn");
    expect(await target.getByLabel("Category").inputValue()).toBe(CATEGORY);
    await target.getByLabel("Description").fill("Boats leaving at first light.");
    await target.getByRole("button", { name: "Start upload" }).click();

    const percents: number[] = [];
    const heights = new Set<number>();
    let edited = false;
    let screenshot = false;
    for (;;) {
      const phase = await target.getAttribute("data-phase");
      const now = Number(await target.getByRole("progressbar").getAttribute("aria-valuenow"));
      if (percents.at(-1) !== now) percents.push(now);
      if (phase === "done") break;
      expect(["uploading", "finishing"]).toContain(phase!);
      heights.add(Math.round((await target.boundingBox())!.height));
      if (phase === "uploading" && now > 0 && !edited) {
        // Typed after the upload was created with the first title: it must reach the video all the same.
        edited = true;
        await target.getByLabel("Title").fill("Harbour at dawn, final cut");
      }
      if (phase === "uploading" && now > 0 && !screenshot) {
        screenshot = true;
        await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-upload-1280.png"), fullPage: true });
        expect(await seriousAxeViolations(page)).toEqual([]);
      }
      await Bun.sleep(50);
    }
    await page.unroute("**/api/uploads/**", slowChunks);
    // Two chunks: the bar stops between its ends at least once on its way up, never backwards.
    expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(1);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect([...heights]).toHaveLength(1);
    expect(edited && screenshot).toBe(true);

    const link = target.getByRole("link", { name: "Open in the library" });
    const videoId = Number(await link.getAttribute("data-video-id"));
    const rows = await videosTitled("Harbour at dawn, final cut");
    expect(rows.map((row) => row.id)).toEqual([videoId]);
    expect(rows[0]!.sourceBytes).toBe(Bun.file(dropSource).size);
    expect(rows[0]!.description).toBe("Boats leaving at first light.");
    expect(await videosTitled("Harbour at dawn")).toEqual([]);

    await link.click();
    await page.getByRole("heading", { name: "Library" }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const row = page.locator(`tr[data-video-id="${videoId}"]`);
    await row.waitFor();
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-video-id="${id}"]`)?.getAttribute("data-state") === "ready",
      videoId,
      { timeout: 150_000, polling: 250 },
    );
    expect(await row.textContent()).toContain("0:20");
    expect(await row.textContent()).toContain(CATEGORY);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    const ready = (await (await admin.get(`/api/admin/videos/${videoId}`)).json()) as AdminVideo;
    expect(ready.title).toBe("Harbour at dawn, final cut");
    expect(ready.duration_seconds).toBeCloseTo(20, 0);
    expectNoProblems(desktop);
  }, 240_000);

  test("an upload cut off mid-transfer retries, pauses with Resume, resumes, and after a reload resumes from where it stopped: one video, the same bytes", async () => {
    // The transcoder is not needed any more: the bytes and the source's duration tell the story.
    await transcoder.stop();
    const { page } = desktop;
    await page.goto(`${api.url}/studio/upload`);
    await page.getByRole("heading", { name: "Upload" }).waitFor();

    // The network goes away once `allowed` chunks went through: every later tus request is aborted.
    let allowed = 1;
    let patches = 0;
    const offsets: number[] = [];
    const cutAfterChunks = async (route: Route) => {
      const request = route.request();
      if (request.method() === "PATCH") {
        if (patches >= allowed) return route.abort("internetdisconnected");
        patches++;
        offsets.push(Number(await request.headerValue("upload-offset")));
      } else if (request.method() === "HEAD" && patches >= allowed) {
        return route.abort("internetdisconnected");
      }
      return route.continue();
    };
    await page.route("**/api/uploads/**", cutAfterChunks);

    await page.getByLabel("Choose video files").setInputFiles(cutSource);
    const target = card(desktop, "Night ferry.mp4");
    await target.getByLabel("Title").fill("Night ferry");
    await target.getByRole("button", { name: "Start upload" }).click();
    // tus-js-client retries by itself first (retryDelays), then the card pauses with its reason.
    await page.waitForFunction(
      () => document.querySelector("li.upload-card")?.getAttribute("data-phase") === "retrying",
    );
    await page.waitForFunction(
      () => document.querySelector("li.upload-card")?.getAttribute("data-phase") === "offline",
      undefined,
      { timeout: 30_000 },
    );
    expect(await target.getByRole("alert").textContent()).toBe(
      "The connection to the server was lost. Resume when it is back: the bytes already sent are kept.",
    );
    expect(Number(await target.getByRole("progressbar").getAttribute("aria-valuenow"))).toBe(
      Math.floor((CHUNK / Bun.file(cutSource).size) * 100),
    );
    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    expect(await seriousAxeViolations(page)).toEqual([]);

    // The network is back for one more chunk: Resume goes on from the offset the api has.
    allowed = 2;
    await target.getByRole("button", { name: "Resume Night ferry.mp4" }).click();
    await page.waitForFunction(
      () => document.querySelector("li.upload-card")?.getAttribute("data-phase") === "offline",
      undefined,
      { timeout: 30_000 },
    );
    expect(offsets).toEqual([0, CHUNK]);

    // A reload forgets the page, not the upload: it is listed, and choosing the same file resumes it.
    allowed = Number.POSITIVE_INFINITY;
    await page.reload();
    const unfinished = page.getByRole("region", { name: "Unfinished uploads" });
    await unfinished.getByText("Night ferry", { exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByLabel("Choose video files").setInputFiles(cutSource);
    const again = card(desktop, "Night ferry.mp4");
    await again.getByRole("button", { name: "Resume upload" }).waitFor();
    expect(await again.getByLabel("Title").inputValue()).toBe("Night ferry");
    await again.getByRole("button", { name: "Resume upload" }).click();
    await page.waitForFunction(
      () => document.querySelector("li.upload-card")?.getAttribute("data-phase") === "done",
      undefined,
      { timeout: 60_000 },
    );
    expect(await page.getByRole("region", { name: "Unfinished uploads" }).count()).toBe(0);
    // Only the third chunk went up after the reload.
    expect(offsets).toEqual([0, CHUNK, 2 * CHUNK]);
    await page.unroute("**/api/uploads/**", cutAfterChunks);

    const rows = await videosTitled("Night ferry");
    expect(rows).toHaveLength(1);
    const stored = join(api.config.mediaRoot, rows[0]!.sourceKey);
    expect(rows[0]!.sourceBytes).toBe(Bun.file(cutSource).size);
    expect(sha256(await Bun.file(stored).bytes())).toBe(sha256(readFileSync(cutSource)));
    expect(await durationOf(stored)).toBeCloseTo(30, 0);
    expect(
      Number(await again.getByRole("link", { name: "Open in the library" }).getAttribute("data-video-id")),
    ).toBe(rows[0]!.id);

    // The same panel on a phone-width window, a finished upload and one under way.
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("heading", { name: "Library" }).waitFor();
      await phone.page.goto(`${api.url}/studio/upload`);
      await phone.page.getByRole("heading", { name: "Upload" }).waitFor();
      await phone.page.getByLabel("Choose video files").setInputFiles(dropSource);
      await card(phone, "Harbour at dawn.mp4").getByLabel("Title").waitFor();
      await phone.page.screenshot({
        path: join(STUDIO_SCREENSHOTS, "studio-upload-390.png"),
        fullPage: true,
      });
      expect(await seriousAxeViolations(phone.page)).toEqual([]);
      await card(phone, "Harbour at dawn.mp4")
        .getByRole("button", { name: "Cancel Harbour at dawn.mp4" })
        .click();
      expect(await card(phone, "Harbour at dawn.mp4").getAttribute("data-phase")).toBe("cancelled");
      expectNoProblems(phone);
    } finally {
      await phone.context.close();
    }
    expectNoProblems(desktop);
  }, 180_000);

  test("Pause stops the transfer and Resume goes on; Cancel terminates the upload (DELETE), nothing is left", async () => {
    const { page } = desktop;
    await page.goto(`${api.url}/studio/upload`);
    await page.getByRole("heading", { name: "Upload" }).waitFor();
    const chunkSent: string[] = [];
    const slowChunks = async (route: Route) => {
      if (route.request().method() === "PATCH") {
        await Bun.sleep(1_000);
        chunkSent.push(route.request().url());
      }
      // A chunk that Pause or Cancel aborted while it waited here is gone: nothing to continue.
      await route.continue().catch(() => undefined);
    };
    await page.route("**/api/uploads/**", slowChunks);
    await page.getByLabel("Choose video files").setInputFiles(cutSource);
    const target = card(desktop, "Night ferry.mp4");
    await target.getByLabel("Title").fill("Ferry never finished");
    await target.getByRole("button", { name: "Start upload" }).click();
    await page.waitForFunction(
      () => Number(document.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")) > 0,
    );
    await target.getByRole("button", { name: "Pause Night ferry.mp4" }).click();
    expect(await target.getAttribute("data-phase")).toBe("paused");
    const sentWhenPaused = Number(await target.getByRole("progressbar").getAttribute("aria-valuenow"));
    expect(sentWhenPaused).toBeLessThan(100);
    const uploadUrl = chunkSent[0]!;
    await target.getByRole("button", { name: "Resume Night ferry.mp4" }).click();
    await page.waitForFunction(
      (before) =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")) > before,
      sentWhenPaused,
    );
    expect(await target.getAttribute("data-phase")).toBe("uploading");
    const [termination] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "DELETE"),
      target.getByRole("button", { name: "Cancel Night ferry.mp4" }).click(),
    ]);
    await page.unroute("**/api/uploads/**", slowChunks);
    expect(termination.url()).toBe(uploadUrl);
    expect(termination.status()).toBe(204);
    expect(await target.getAttribute("data-phase")).toBe("cancelled");
    const head = await admin.request("HEAD", new URL(uploadUrl).pathname, undefined, {
      "tus-resumable": "1.0.0",
    });
    expect([404, 410]).toContain(head.status);
    expect(await videosTitled("Ferry never finished")).toEqual([]);
    const stored = await page.evaluate(() =>
      Object.keys(localStorage).filter((key) => key.startsWith("tus::") && key.includes("Night ferry")),
    );
    expect(stored).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("a text file named .mp4 is refused with the api's reason, and nothing is left to resume", async () => {
    const { page } = desktop;
    await page.goto(`${api.url}/studio/upload`);
    await page.getByRole("heading", { name: "Upload" }).waitFor();
    const text = join(workDir, "notes.mp4");
    await Bun.write(text, "Shot list for Tuesday:\n".repeat(400));
    await page.getByLabel("Choose video files").setInputFiles(text);
    const target = card(desktop, "notes.mp4");
    await target.getByRole("button", { name: "Start upload" }).click();
    const alert = target.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      "The file is not a video container we can read (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, …).",
    );
    expect(await target.getAttribute("data-phase")).toBe("refused");
    expect(await target.getByRole("button", { name: /^(Resume|Pause)/ }).count()).toBe(0);
    expect(await target.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("0");
    await page.screenshot({
      path: join(STUDIO_SCREENSHOTS, "studio-upload-refused-1280.png"),
      fullPage: true,
    });
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await videosTitled("notes")).toEqual([]);
    const stored = await page.evaluate(() =>
      Object.keys(localStorage).filter((key) => key.startsWith("tus::") && key.includes("notes.mp4")),
    );
    expect(stored).toEqual([]);
    await target.getByRole("button", { name: "Remove notes.mp4 from the list" }).click();
    expect(await page.locator("li.upload-card").count()).toBe(0);
    expectNoProblems(desktop);
  }, 60_000);

  test("a file past MAX_UPLOAD_BYTES is refused with the limit named; a blank title is asked for before anything is sent", async () => {
    const { page } = desktop;
    await page.getByText("up to 20.0 MB each").waitFor();
    const big = join(workDir, "Too long.mp4");
    await Bun.write(big, new Uint8Array(MAX_UPLOAD_BYTES + 1_000_000));
    await page.getByLabel("Choose video files").setInputFiles([big, dropSource]);
    const tooBig = card(desktop, "Too long.mp4");
    await tooBig.getByRole("button", { name: "Start upload" }).click();
    await tooBig.getByRole("alert").waitFor();
    expect(await tooBig.getByRole("alert").textContent()).toBe(
      "The file is too big for this server. It takes files up to 20.0 MB.",
    );
    const untitled = card(desktop, "Harbour at dawn.mp4");
    await untitled.getByLabel("Title").fill("");
    await untitled.getByRole("button", { name: "Start upload" }).click();
    await untitled.getByRole("alert").waitFor();
    expect(await untitled.getByRole("alert").textContent()).toBe("Give the video a title first.");
    expect(await untitled.getAttribute("data-phase")).toBe("ready");
    await untitled.getByLabel("Title").fill("Harbour, again");
    expect(await untitled.getByRole("alert").count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);
});

describe("an unfinished upload from an earlier visit", () => {
  test("uploads with an expired access token (one refresh), and Discard after a reload removes its bytes", async () => {
    const { page } = desktop;
    await page.goto(`${api.url}/studio/upload`);
    await page.getByRole("heading", { name: "Upload" }).waitFor();
    // Past the access token's lifetime: the tus creation meets a 401, refreshes once and goes on.
    api.shiftClock(31 * 60);
    const refreshesBefore = desktop.requests.filter((r) => r === "POST /api/token/refresh/").length;
    let chunks = 0;
    const oneChunkOnly = async (route: Route) => {
      const method = route.request().method();
      if ((method === "PATCH" && chunks++ >= 1) || (method === "HEAD" && chunks >= 1)) {
        return route.abort("internetdisconnected");
      }
      return route.continue();
    };
    await page.route("**/api/uploads/**", oneChunkOnly);
    await page.getByLabel("Choose video files").setInputFiles(cutSource);
    const target = card(desktop, "Night ferry.mp4");
    await target.getByLabel("Title").fill("Ferry to discard");
    // The categories were asked for with the expired token too: the file gets the default once they come.
    await page.waitForFunction(
      (category) =>
        document.querySelector<HTMLInputElement>('input[list$="-categories"]')?.value === category,
      CATEGORY,
    );
    await target.getByRole("button", { name: "Start upload" }).click();
    await page
      .waitForFunction(
        () => document.querySelector("li.upload-card")?.getAttribute("data-phase") === "offline",
        undefined,
        { timeout: 30_000 },
      )
      .catch(async (error) => {
        throw new Error(
          `${error}; the card: ${await target.getAttribute("data-phase")} ${await target.textContent()}; requests: ${desktop.requests.slice(-12).join(", ")}`,
        );
      });
    expect(desktop.requests.filter((r) => r === "POST /api/token/refresh/").length - refreshesBefore).toBe(1);
    const created = desktop.requests.filter((r) => r === "POST /api/uploads/");
    expect(created.length).toBeGreaterThanOrEqual(2);
    await page.unroute("**/api/uploads/**", oneChunkOnly);

    await page.reload();
    const unfinished = page.getByRole("region", { name: "Unfinished uploads" });
    await unfinished.getByText("Ferry to discard", { exact: true }).waitFor();
    const [termination] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "DELETE"),
      unfinished.getByRole("button", { name: "Discard the unfinished upload of Night ferry.mp4" }).click(),
    ]);
    expect(termination.status()).toBe(204);
    await unfinished.waitFor({ state: "detached" });
    // The test's own client signs in again: its access token is as old as the clock says.
    const fresh = await adminClient(api);
    const head = await fresh.request("HEAD", new URL(termination.url()).pathname, undefined, {
      "tus-resumable": "1.0.0",
    });
    expect([404, 410]).toContain(head.status);
    expect(await videosTitled("Ferry to discard")).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);
});
