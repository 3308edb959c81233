// The studio's users page with the keyboard alone, and on the paths that fail, in Debian's Chromium
// against the real api: removing your own admin takes a ticked box and is refused readably while you
// are the last admin; Enter on a dialog's focused Cancel changes nothing; an account deactivated and
// activated again keeps the focus on its button; reactivating an admin asks first (the dialog's
// description says why); a filter change whose load fails offers no page of the old list, and Try
// again loads page 1 of the new one; the sessions dialog's error has its own Try again; deactivating
// your own account (another admin exists) signs you out with a notice that says so. Two accounts
// changed at once are each sent once; the status line fits its reserved room at 390 px.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { ADMIN, adminClient } from "../support/admin.ts";
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
import { type Client, createActiveUser, type TestApi } from "../support/test-api.ts";

interface AdminUser {
  id: number;
  email: string;
  is_active: boolean;
  is_admin: boolean;
}

let stack: StudioStack;
let api: TestApi;
let admin: Client;
let browser: Browser;
let desktop: StudioPage;
const tag = crypto.randomUUID().slice(0, 6);

const userNamed = async (email: string): Promise<AdminUser> => {
  const page = (await (await admin.get(`/api/admin/users?q=${encodeURIComponent(email)}`)).json()) as {
    results: AdminUser[];
  };
  const user = page.results.find((found) => found.email === email);
  if (!user) throw new Error(`no account ${email}`);
  return user;
};
const account = async (label: string) =>
  userNamed((await createActiveUser(api, `${label}-${tag}@example.com`)).email);
const change = async (user: AdminUser, body: Record<string, boolean>) =>
  expect((await admin.request("PATCH", `/api/admin/users/${user.id}`, body)).status).toBe(200);

beforeAll(async () => {
  stack = await startStudioStack("studio-users-keyboard-e2e", []);
  ({ api } = stack);
  admin = await adminClient(api);
  // Thirty accounts that only a search for them finds: two pages of the list.
  await api.database.db.execute(sql`
    insert into users (email, password_hash, is_active)
    select 'paged-' || ${tag} || '-' || lpad(i::text, 2, '0') || '@example.com', 'not-a-password-hash', true
    from generate_series(1, 30) as i`);
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
  await signInThroughForm(desktop, api.url, ADMIN);
  await desktop.page.getByRole("heading", { name: "Library" }).waitFor();
  await desktop.page.goto(`${api.url}/studio/users`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Types into the search and waits for the list to hold exactly `count` rows. */
async function search(studio: StudioPage, text: string, count: number) {
  await studio.page.getByLabel("Search").fill(text);
  await studio.page.waitForFunction(
    ([q, n]) =>
      document.querySelector(".table-card")?.getAttribute("aria-busy") === "false" &&
      document.querySelectorAll("tr.user-row").length === n &&
      [...document.querySelectorAll("tr.user-row th")].every((th) => th.textContent?.includes(q as string)),
    [text, count] as const,
  );
}
const focusedLabel = (studio: StudioPage) =>
  studio.page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? null);

describe("the users page by keyboard and when things fail", () => {
  test("removing your own admin takes a ticked box, and is refused readably while you are the last admin", async () => {
    const { page } = desktop;
    const admins = (await (await admin.get("/api/admin/users?is_admin=true&is_active=true")).json()) as {
      results: AdminUser[];
    };
    expect(admins.results.map((user) => user.email)).toEqual([ADMIN.email]);

    await search(desktop, ADMIN.email, 1);
    const me = await userNamed(ADMIN.email);
    await page.getByRole("button", { name: `Remove admin: ${ADMIN.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Remove admin from ${ADMIN.email}?` });
    await dialog.getByText("This is your own account", { exact: false }).waitFor();
    const confirm = dialog.getByRole("button", { name: "Remove admin" });
    expect(await confirm.isDisabled()).toBe(true);
    // The focus starts on Cancel (Enter there changes nothing: the first test); the box comes first.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await dialog.getByLabel("I mean to change my own account").check();
    expect(await confirm.isDisabled()).toBe(false);
    await confirm.click();
    const refusal = dialog.getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe(
      "Refused: this is the last active admin. Make another account an admin first, or nobody could run the service.",
    );
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-last-admin-1280.png") });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await userNamed(ADMIN.email)).is_admin).toBe(true);
    expect(await desktop.page.locator(`tr[data-user-id="${me.id}"]`).getAttribute("data-admin")).toBe("true");
    // Still signed in: the refused change ended nothing.
    expect((await admin.get("/api/me/")).status).toBe(200);
    expectNoProblems(desktop);
  }, 60_000);

  test("Enter on the dialog's Cancel changes nothing; deactivate and activate keep the focus on the button", async () => {
    const { page } = desktop;
    const dan = await account("dan");
    await search(desktop, `dan-${tag}`, 1);
    await page.getByRole("button", { name: `Deactivate: ${dan.email}` }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Deactivate ${dan.email}?` });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    expect((await userNamed(dan.email)).is_active).toBe(true);
    expect(await focusedLabel(desktop)).toBe(`Deactivate: ${dan.email}`);

    // Confirmed with the keyboard: the same button (now Activate) keeps the focus.
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await page.waitForFunction((id) => {
      const row = document.querySelector(`tr[data-user-id="${id}"]`);
      return row?.getAttribute("data-active") === "false";
    }, dan.id);
    expect(await focusedLabel(desktop)).toBe(`Activate: ${dan.email}`);
    // Activating a viewer needs no dialog; the focus stays through the request and after it.
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-user-id="${id}"]`)?.getAttribute("data-active") === "true",
      dan.id,
    );
    expect(await focusedLabel(desktop)).toBe(`Deactivate: ${dan.email}`);
    expect((await userNamed(dan.email)).is_active).toBe(true);
    // On a phone the status sentence wraps inside the room reserved for it: the list does not move.
    await page.setViewportSize({ width: 390, height: 844 });
    await page
      .getByRole("status")
      .filter({ hasText: `${dan.email} is active again` })
      .waitFor();
    const status = await page.locator(".action-status").evaluate((line) => ({
      content: line.scrollHeight,
      room: line.clientHeight,
    }));
    expect(status.content).toBeLessThanOrEqual(status.room);
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-status-390.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
    expectNoProblems(desktop);
  }, 60_000);

  test("reactivating an admin asks first, and the dialog's description says why", async () => {
    const { page } = desktop;
    const eve = await account("eve");
    await change(eve, { is_admin: true });
    await change(eve, { is_active: false });
    await search(desktop, `eve-${tag}`, 1);
    await page.getByRole("button", { name: `Activate: ${eve.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Activate ${eve.email}, an admin?` });
    await dialog.waitFor();
    const description = await dialog.evaluate(
      (element) => document.getElementById(element.getAttribute("aria-describedby") ?? "")?.textContent,
    );
    expect(description).toContain("The account is an admin");
    expect((await userNamed(eve.email)).is_active).toBe(false);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Activate admin" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.locator(`tr[data-user-id="${eve.id}"][data-active="true"]`).waitFor();
    expect((await userNamed(eve.email)).is_active).toBe(true);
    expectNoProblems(desktop);
  }, 60_000);

  test("a filter change whose load fails offers no page of the old list; Try again loads page 1", async () => {
    const { page } = desktop;
    await search(desktop, `paged-${tag}`, 25);
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("Page 2", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 5);

    // Cut off on the network (not the api) while on page 2: the error, and no pager over it.
    const listing = (url: URL) => url.pathname === "/api/admin/users";
    await page.route(listing, (route) => route.abort("connectionreset"));
    await page.getByLabel("Status").selectOption("active");
    await page.getByRole("heading", { name: "The users could not be loaded" }).waitFor();
    expect(await page.getByRole("navigation", { name: "Pages" }).count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.unroute(listing);
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByText("Page 1", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 25);
    expect(await page.locator("tr.user-row th").first().textContent()).toContain(`paged-${tag}-30@`);
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("Page 2", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 5);

    // On page 1 the Status changes and fails: no Next sends the old list's cursor with it.
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.getByText("Page 1", { exact: true }).waitFor();
    await page.route(listing, (route) => route.abort("connectionreset"));
    await page.getByLabel("Status").selectOption("");
    await page.getByRole("heading", { name: "The users could not be loaded" }).waitFor();
    expect(await page.getByRole("button", { name: "Next →" }).count()).toBe(0);
    await page.unroute(listing);
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByText("Page 1", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 25);
    expectNoProblems(desktop);
  }, 60_000);

  test("the sessions dialog's error has its own Try again", async () => {
    const { page } = desktop;
    const fay = await account("fay");
    await search(desktop, `fay-${tag}`, 1);
    const sessionsOf = (url: URL) => url.pathname === `/api/admin/users/${fay.id}/sessions`;
    await page.route(sessionsOf, (route) => route.abort("connectionreset"));
    await page.getByRole("button", { name: `Sessions of ${fay.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Sessions of ${fay.email}` });
    await dialog.getByText("The sessions could not be loaded", { exact: false }).waitFor();
    await page.unroute(sessionsOf);
    await dialog.getByRole("button", { name: "Try again" }).click();
    await dialog.getByText("No live sessions: the account is signed out everywhere.").waitFor();
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    expectNoProblems(desktop);
  }, 60_000);

  test("two accounts activated at once are each sent once, whichever answer comes first", async () => {
    const { page } = desktop;
    const [hal, ivy] = [await account("hal"), await account("ivy")];
    await change(hal, { is_active: false });
    await change(ivy, { is_active: false });
    await page.getByLabel("Search").fill(`-${tag}@`);
    for (const user of [hal, ivy]) await page.locator(`tr[data-user-id="${user.id}"]`).waitFor();
    // Each PATCH is held in the browser until the test lets it through.
    const held: Array<{ url: string; release: () => void }> = [];
    const accountChange = (url: URL) => /^\/api\/admin\/users\/\d+$/.test(url.pathname);
    await page.route(accountChange, async (route) => {
      if (route.request().method() !== "PATCH") return route.continue();
      await new Promise<void>((release) => held.push({ url: route.request().url(), release }));
      await route.continue();
    });
    await page.getByRole("button", { name: `Activate: ${hal.email}` }).click();
    await page.getByRole("button", { name: `Activate: ${ivy.email}` }).click();
    await page.waitForFunction(() => document.querySelectorAll('[aria-disabled="true"]').length === 4);
    expect(held).toHaveLength(2);
    held[0]!.release();
    await page.locator(`tr[data-user-id="${hal.id}"][data-active="true"]`).waitFor();
    // Ivy's change is still under way: her button stays busy, and Enter on it sends nothing.
    const ivyButton = page.getByRole("button", { name: `Activate: ${ivy.email}` });
    expect(await ivyButton.getAttribute("aria-disabled")).toBe("true");
    await ivyButton.focus();
    await page.keyboard.press("Enter");
    held[1]!.release();
    await page.locator(`tr[data-user-id="${ivy.id}"][data-active="true"]`).waitFor();
    await page.unroute(accountChange);
    const patches = desktop.requests.filter((line) => line === `PATCH /api/admin/users/${ivy.id}`);
    expect(patches).toHaveLength(1);
    expect(held).toHaveLength(2);
    expectNoProblems(desktop);
  }, 60_000);

  test("with another admin, deactivating your own account signs you out with a notice that says so", async () => {
    const { page } = desktop;
    await change(await account("gil"), { is_admin: true });
    await search(desktop, ADMIN.email, 1);
    await page.getByRole("button", { name: `Deactivate: ${ADMIN.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Deactivate ${ADMIN.email}?` });
    const description = await dialog.evaluate(
      (element) => document.getElementById(element.getAttribute("aria-describedby") ?? "")?.textContent,
    );
    expect(description).toContain("This is your own account");
    await dialog.getByLabel("I mean to change my own account").check();
    await dialog.getByRole("button", { name: "Deactivate" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page
      .getByText(
        "You deactivated your own account: it is signed out everywhere until another admin activates it.",
      )
      .waitFor();
    const [mine] = (await api.database.db.execute(
      sql`select is_active from users where email = ${ADMIN.email}`,
    )) as unknown as Array<{ is_active: boolean }>;
    expect(mine?.is_active).toBe(false);
    expectNoProblems(desktop);
  }, 60_000);
});
