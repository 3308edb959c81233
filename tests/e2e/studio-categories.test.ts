// The studio's categories page in Debian's Chromium against the real api: an admin reaches it from the
// navigation (its empty state; its error state when the list is cut off, and Try again), creates a category with the keyboard (a taken name is refused under the field), renames
// it in place and deletes it through a confirmation that names it. A category that a video was filed
// under after the delete dialog read it is refused with the api's reason (409 in_use) shown in the
// dialog, and the list learns the count; the dialog reads the category as it opens, so a count known
// to the page explains and offers no Delete, and a stale one (the videos moved away) blocks nothing.
// The keyboard lands on the next row after a delete; a rename of a category deleted elsewhere drops it.
// axe-core finds no serious or critical violation; the CSP is never violated. Screenshots at 1280 and
// 390 px go to var/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { ADMIN, adminClient, createVideo } from "../support/admin.ts";
import { launchChromium } from "../support/browser.ts";
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

interface Category {
  id: number;
  name: string;
  video_count: number;
}

let stack: StudioStack;
let api: TestApi;
let admin: Client;
let browser: Browser;
let desktop: StudioPage;
/** Names of this run's own, so that a shared database's other categories never matter. */
const tag = crypto.randomUUID().slice(0, 6);

beforeAll(async () => {
  stack = await startStudioStack("studio-categories-e2e", []);
  ({ api } = stack);
  admin = await adminClient(api);
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const categoriesNow = async (): Promise<Category[]> =>
  (await (await admin.get("/api/admin/categories")).json()) as Category[];
const row = (studio: StudioPage, name: string) =>
  studio.page.locator("tr.category-row").filter({ has: studio.page.getByRole("rowheader", { name }) });

describe("the categories page", () => {
  test("opens from the navigation; creates a category with the keyboard, refusing a taken name", async () => {
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("heading", { name: "Library" }).waitFor();
    await page.getByRole("navigation", { name: "Studio" }).getByRole("link", { name: "Categories" }).click();
    await page.waitForURL(`${api.url}/studio/categories`);
    await page.getByRole("heading", { name: "Categories", level: 1 }).waitFor();
    expect(await page.getByRole("link", { name: "Categories" }).getAttribute("aria-current")).toBe("page");
    // The api's own database is new: the empty state, designed.
    await page.getByRole("heading", { name: "No categories yet" }).waitFor();
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-categories-empty-1280.png") });

    // The list cut off on its way (the network, not the api): the error state, and Try again recovers.
    await page.route("**/api/admin/categories", (route) => route.abort("connectionreset"));
    await page.reload();
    await page.getByRole("heading", { name: "The categories could not be loaded" }).waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("The server cannot be reached.");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.unroute("**/api/admin/categories");
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("heading", { name: "No categories yet" }).waitFor();

    const name = `Documentaries ${tag}`;
    await page.getByLabel("New category").focus();
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
    await row(desktop, name).waitFor();
    await page
      .getByRole("status")
      .filter({ hasText: `Created the category “${name}”.` })
      .waitFor();
    expect(await row(desktop, name).textContent()).toContain("No videos");
    expect((await categoriesNow()).some((category) => category.name === name)).toBe(true);
    expect(await page.getByLabel("New category").inputValue()).toBe("");

    // The same name in other letters is taken: the api's reason stands under the field.
    await page.getByLabel("New category").fill(name.toUpperCase());
    await page.getByRole("button", { name: "Create category" }).click();
    await page.getByText("A category of this name exists already (in any letter case).").waitFor();
    expect(await page.getByLabel("New category").getAttribute("aria-invalid")).toBe("true");
    // A blank one is not sent at all.
    await page.getByLabel("New category").fill("   ");
    await page.getByRole("button", { name: "Create category" }).click();
    await page.getByText("Give the category a name.").waitFor();
    await page.getByLabel("New category").fill("");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expectNoProblems(desktop);
  }, 60_000);

  test("renames a category in place (Escape leaves it as it was) and deletes it behind a confirmation", async () => {
    const { page } = desktop;
    const name = `Documentaries ${tag}`;
    const renamed = `Nature films ${tag}`;
    await page.getByRole("button", { name: `Rename ${name}` }).click();
    const field = page.getByLabel(`New name for ${name}`);
    expect(await field.evaluate((input) => input === document.activeElement)).toBe(true);
    await page.keyboard.type("Something else");
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: `Rename ${name}` }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(
      `Rename ${name}`,
    );

    await page.keyboard.press("Enter");
    await field.fill(renamed);
    await page.keyboard.press("Enter");
    await row(desktop, renamed).waitFor();
    await page
      .getByRole("status")
      .filter({ hasText: `Renamed “${name}” to “${renamed}”.` })
      .waitFor();
    expect((await categoriesNow()).map((category) => category.name)).toContain(renamed);

    // The keyboard alone deletes it, and lands on the next row's Delete (or the one before, or the form).
    const names = await page.locator("tr.category-row th").allTextContents();
    const at = names.indexOf(renamed);
    const neighbour = names[at + 1] ?? names[at - 1];
    await page.getByRole("button", { name: `Delete ${renamed}` }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Delete the category “${renamed}”?` });
    await dialog.getByText("It disappears from the upload form", { exact: false }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await row(desktop, renamed).waitFor({ state: "detached" });
    await page.waitForFunction(
      (label) =>
        label === null
          ? document.activeElement?.id === "new-category-name"
          : document.activeElement?.getAttribute("aria-label") === label,
      neighbour === undefined ? null : `Delete ${neighbour}`,
    );
    await page
      .getByRole("status")
      .filter({ hasText: `Deleted the category “${renamed}”.` })
      .waitFor();
    expect((await categoriesNow()).some((category) => category.name === renamed)).toBe(false);
    expectNoProblems(desktop);
  }, 60_000);

  test("deleting a category in use is refused with the api's reason, and the list learns the count", async () => {
    const { page } = desktop;
    const name = `Animation ${tag}`;
    await page.getByLabel("New category").fill(name);
    await page.getByRole("button", { name: "Create category" }).click();
    await row(desktop, name).waitFor();
    expect(await row(desktop, name).textContent()).toContain("No videos");
    // Filed under it after the dialog read the category afresh: only the api's refusal can tell.
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    const dialog = page.getByRole("dialog", { name: `Delete the category “${name}”?` });
    await dialog.getByText("It disappears from the upload form", { exact: false }).waitFor();
    const video = await createVideo(api, admin, { title: `Short ${tag}`, category: name });
    expect(video.category).toBe(name);
    await dialog.getByRole("button", { name: "Delete category" }).click();
    const refusal = dialog.getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe(
      "1 video is filed under this category: move or delete it first.",
    );
    expect(await dialog.getByRole("button", { name: "Delete category" }).isDisabled()).toBe(true);
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-categories-refused-1280.png") });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(
      await row(desktop, name)
        .getByRole("link", { name: `1 video in ${name}` })
        .isVisible(),
    ).toBe(true);

    // Now that the count is known, the dialog says why before anything is sent; Escape closes it.
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    await dialog.getByText("1 video is filed under it.", { exact: false }).waitFor();
    expect(await dialog.getByRole("button", { name: "Delete category" }).isDisabled()).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    const kept = (await categoriesNow()).find((category) => category.name === name);
    expect(kept?.video_count).toBe(1);

    // The video moves to another category elsewhere: the row still says 1 video, but the dialog reads
    // the category as it opens, offers Delete, and the row learns the count.
    const moved = await admin.request("PATCH", `/api/admin/videos/${video.id}`, { category: `Moved ${tag}` });
    expect(moved.status).toBe(200);
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    await dialog.getByText("It disappears from the upload form", { exact: false }).waitFor();
    await row(desktop, name).getByText("No videos").waitFor();
    await dialog.getByRole("button", { name: "Delete category" }).click();
    await row(desktop, name).waitFor({ state: "detached" });
    expect((await categoriesNow()).some((category) => category.name === name)).toBe(false);
    expectNoProblems(desktop);
  }, 60_000);

  test("renaming a category deleted elsewhere says so, and its row goes", async () => {
    const { page } = desktop;
    const name = `Gone soon ${tag}`;
    const created = (await (await admin.post("/api/admin/categories", { name })).json()) as Category;
    await page.reload();
    await row(desktop, name).waitFor();
    expect((await admin.request("DELETE", `/api/admin/categories/${created.id}`)).status).toBe(204);
    await page.getByRole("button", { name: `Rename ${name}` }).click();
    await page.getByLabel(`New name for ${name}`).fill(`Renamed ${tag}`);
    await page.keyboard.press("Enter");
    await page
      .getByRole("status")
      .filter({ hasText: `“${name}” is gone: someone deleted it meanwhile.` })
      .waitFor();
    await row(desktop, name).waitFor({ state: "detached" });
    // The keyboard is not left on the page's body with the row's field.
    expect(await page.evaluate(() => document.activeElement !== document.body)).toBe(true);
    expectNoProblems(desktop);
  }, 60_000);

  test("reads well at 1280 and 390 px; axe-core clean at both", async () => {
    const { page } = desktop;
    await page.getByLabel("New category").fill(`Comedy ${tag}`);
    await page.keyboard.press("Enter");
    await row(desktop, `Comedy ${tag}`).waitFor();
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-categories-1280.png"), fullPage: true });

    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("heading", { name: "Library" }).waitFor();
      await phone.page.goto(`${api.url}/studio/categories`);
      await row(phone, `Comedy ${tag}`).waitFor();
      await phone.page.screenshot({
        path: join(STUDIO_SCREENSHOTS, "studio-categories-390.png"),
        fullPage: true,
      });
      // A card per category, nothing wider than the window.
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
      expect(await seriousAxeViolations(phone.page)).toEqual([]);
      expectNoProblems(phone);
    } finally {
      await phone.context.close();
    }
    expectNoProblems(desktop);
  }, 60_000);
});
