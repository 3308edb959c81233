// The studio's users page in Debian's Chromium against the real api: an admin finds accounts by part
// of their address and pages through a search; deactivates one, and a second browser signing in as it
// gets the refusal until it is activated again; grants admin (the account then opens the studio) and
// revokes it (its session ends); with another admin, removing your own admin (a ticked box) works and
// signs you out; "Revoke all sessions" ends a user's existing session (their next call is 401). The
// keyboard, the failures and the last admin: studio-users-keyboard.test.ts.
// axe-core finds no serious or critical violation; the CSP is never violated. Screenshots at 1280 and
// 390 px go to var/screenshots/.
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
import { Client, createActiveUser, type TestApi } from "../support/test-api.ts";

interface Account {
  id: number;
  email: string;
  password: string;
}

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
let ann: Account;
let bob: Account;
let cat: Account;
let me: AdminUser;
/** This run's own addresses, so that a search finds only them. */
const tag = crypto.randomUUID().slice(0, 6);
const REFUSED_SIGN_IN = "The email or the password is not right, or the account is not active.";

const userNamed = async (email: string): Promise<AdminUser> => {
  const page = (await (await admin.get(`/api/admin/users?q=${encodeURIComponent(email)}`)).json()) as {
    results: AdminUser[];
  };
  const user = page.results.find((found) => found.email === email);
  if (!user) throw new Error(`no account ${email}`);
  return user;
};
const account = async (label: string): Promise<Account> => {
  const created = await createActiveUser(api, `${label}-${tag}@example.com`);
  return { ...created, id: (await userNamed(created.email)).id };
};

beforeAll(async () => {
  stack = await startStudioStack("studio-users-e2e", []);
  ({ api } = stack);
  admin = await adminClient(api);
  [ann, bob, cat] = await Promise.all([account("ann"), account("bob"), account("cat")]);
  me = await userNamed(ADMIN.email);
  // Thirty accounts that only a search for them finds: more than one page of the list.
  await api.database.db.execute(sql`
    insert into users (email, password_hash, is_active)
    select 'paged-' || ${tag} || '-' || lpad(i::text, 2, '0') || '@example.com', 'not-a-password-hash', true
    from generate_series(1, 30) as i`);
  browser = await launchChromium();
  desktop = await openStudioPage(browser, api.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const row = (studio: StudioPage, id: number) => studio.page.locator(`tr.user-row[data-user-id="${id}"]`);
const rowCount = (studio: StudioPage) => studio.page.locator("tr.user-row").count();
/** Types into the search and waits for the list to hold exactly `count` rows. */
async function search(studio: StudioPage, text: string, count: number) {
  await studio.page.getByLabel("Search").fill(text);
  await studio.page.waitForFunction(
    ([q, n]) =>
      document.querySelector(".table-card")?.getAttribute("aria-busy") === "false" &&
      new URL(location.href).pathname === "/studio/users" &&
      document.querySelectorAll("tr.user-row").length === n &&
      (q === "" ||
        [...document.querySelectorAll("tr.user-row th")].every((th) =>
          th.textContent?.includes(q as string),
        )),
    [text, count] as const,
  );
}

describe("the users page", () => {
  test("opens from the navigation; finds accounts by part of their address; pages through a search", async () => {
    await signInThroughForm(desktop, api.url, ADMIN);
    const { page } = desktop;
    await page.getByRole("heading", { name: "Library" }).waitFor();
    await page.getByRole("navigation", { name: "Studio" }).getByRole("link", { name: "Users" }).click();
    await page.waitForURL(`${api.url}/studio/users`);
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();

    // Newest first, 25 to a page: the 34 accounts take two.
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 25);
    await page.getByRole("button", { name: "Next →" }).waitFor();

    // Your own row says so, and that you signed in just now (the absolute moment beside it).
    await search(desktop, ADMIN.email, 1);
    const mine = row(desktop, me.id);
    const mineText = (await mine.textContent()) ?? "";
    expect(mineText).toContain("You");
    expect(mineText).toContain("Admin");
    expect(await mine.locator(".cell-last-login").textContent()).toMatch(
      /^just now\d{1,2} \w{3} \d{4}, \d\d:\d\d$/,
    );

    await search(desktop, `ann-${tag}`, 1);
    const annText = (await row(desktop, ann.id).textContent()) ?? "";
    for (const words of [ann.email, "Active", "Viewer", "Never"]) expect(annText).toContain(words);

    await search(desktop, `paged-${tag}`, 25);
    expect(await page.getByText("Page 1", { exact: true }).isVisible()).toBe(true);
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("Page 2", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 5);
    // Newest first: the second page holds the first five made.
    expect(await page.locator("tr.user-row th").first().textContent()).toContain(`paged-${tag}-05@`);
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.getByText("Page 1", { exact: true }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 25);

    await page.getByLabel("Search").fill(`nobody-${tag}`);
    await page.getByRole("heading", { name: "No users match" }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.waitForFunction(() => document.querySelectorAll("tr.user-row").length === 25);

    expectNoProblems(desktop);
  }, 60_000);

  test("deactivates an account: a second browser signing in as it is refused, until it is activated again", async () => {
    const { page } = desktop;
    await search(desktop, `ann-${tag}`, 1);
    await page.getByRole("button", { name: `Deactivate: ${ann.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Deactivate ${ann.email}?` });
    await dialog.getByRole("button", { name: "Deactivate" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-user-id="${id}"]`)?.getAttribute("data-active") === "false",
      ann.id,
    );
    expect(await row(desktop, ann.id).textContent()).toContain("Inactive");
    await page
      .getByRole("status")
      .filter({ hasText: `${ann.email} is deactivated` })
      .waitFor();

    const second = await openStudioPage(browser, api.url);
    try {
      await signInThroughForm(second, api.url, ann);
      const alert = second.page.getByRole("alert");
      await alert.waitFor();
      expect(await alert.textContent()).toBe(REFUSED_SIGN_IN);

      await page.getByRole("button", { name: `Activate: ${ann.email}` }).click();
      await page
        .getByRole("status")
        .filter({ hasText: `${ann.email} is active again` })
        .waitFor();
      expect(await row(desktop, ann.id).getAttribute("data-active")).toBe("true");

      // The same browser, the same form: this time it gets in (to the no-access page: not an admin).
      await signInThroughForm(second, api.url, ann);
      await second.page.getByRole("heading", { name: "No access to the studio" }).waitFor();
      expectNoProblems(second);
    } finally {
      await second.context.close();
    }
    expectNoProblems(desktop);
  }, 60_000);

  test("grants admin (the account then opens the studio) and revokes it (its session ends)", async () => {
    const { page } = desktop;
    await search(desktop, `bob-${tag}`, 1);
    await page.getByRole("button", { name: `Make admin: ${bob.email}` }).click();
    const grant = page.getByRole("dialog", { name: `Make ${bob.email} an admin?` });
    await grant.getByRole("button", { name: "Make admin" }).click();
    await grant.waitFor({ state: "hidden" });
    await page
      .getByRole("status")
      .filter({ hasText: `${bob.email} is an admin now.` })
      .waitFor();
    expect(await row(desktop, bob.id).getAttribute("data-admin")).toBe("true");
    expect((await userNamed(bob.email)).is_admin).toBe(true);

    const bobs = await openStudioPage(browser, api.url);
    try {
      await signInThroughForm(bobs, api.url, bob);
      await bobs.page.getByRole("heading", { name: "Library" }).waitFor();

      await page.getByRole("button", { name: `Remove admin: ${bob.email}` }).click();
      const revoke = page.getByRole("dialog", { name: `Remove admin from ${bob.email}?` });
      expect(await revoke.getByRole("checkbox").count()).toBe(0);
      await revoke.getByRole("button", { name: "Remove admin" }).click();
      await revoke.waitFor({ state: "hidden" });
      await page
        .getByRole("status")
        .filter({ hasText: `${bob.email} is no longer an admin.` })
        .waitFor();
      expect(await row(desktop, bob.id).getAttribute("data-admin")).toBe("false");
      expect((await userNamed(bob.email)).is_admin).toBe(false);

      // Bob's studio session went with the right: the next page load is the sign-in page.
      await bobs.page.reload();
      await bobs.page.getByRole("heading", { name: "Sign in" }).waitFor();
      expectNoProblems(bobs);
    } finally {
      await bobs.context.close();
    }
    expectNoProblems(desktop);
  }, 60_000);

  test("revokes every session of a user: their existing session ends, their next call is 401", async () => {
    const { page } = desktop;
    const cats = new Client(api.url);
    expect((await cats.post("/api/login/", { email: cat.email, password: cat.password })).status).toBe(200);
    expect((await cats.get("/api/me/")).status).toBe(200);
    const [session] = (await (await admin.get(`/api/admin/users/${cat.id}/sessions`)).json()) as Array<{
      user_agent: string | null;
      ip: string | null;
    }>;

    await search(desktop, `cat-${tag}`, 1);
    await page.getByRole("button", { name: `Sessions of ${cat.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Sessions of ${cat.email}` });
    const listed = dialog.getByRole("list", { name: "Live sessions" }).getByRole("listitem");
    await listed.first().waitFor();
    expect(await listed.count()).toBe(1);
    const listedText = (await listed.textContent()) ?? "";
    expect(listedText).toContain(session!.user_agent ?? "Unknown browser or app");
    expect(listedText).toContain(session!.ip ?? "unknown");
    expect(listedText).toContain("just now");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-sessions-1280.png") });

    await dialog.getByRole("button", { name: "Revoke all sessions…" }).click();
    await dialog.getByText(`End every session of ${cat.email}?`, { exact: false }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Keep them");
    await dialog.getByRole("button", { name: "Revoke all sessions", exact: true }).click();
    await dialog.getByText("No live sessions: the account is signed out everywhere.").waitFor();
    await page
      .getByRole("status")
      .filter({ hasText: `Every session of ${cat.email} ended.` })
      .waitFor();

    expect((await cats.get("/api/me/")).status).toBe(401);
    expect((await cats.post("/api/token/refresh/")).status).toBe(401);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    expectNoProblems(desktop);
  }, 60_000);

  test("reads well at 1280 and 390 px; axe-core clean at both", async () => {
    const { page } = desktop;
    // An admin and an inactive account among them, as a real list has.
    expect((await admin.request("PATCH", `/api/admin/users/${bob.id}`, { is_admin: true })).status).toBe(200);
    expect((await admin.request("PATCH", `/api/admin/users/${ann.id}`, { is_active: false })).status).toBe(
      200,
    );
    await search(desktop, `-${tag}@`, 3);
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-user-id="${id}"]`)?.getAttribute("data-active") === "false",
      ann.id,
    );
    await page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-1280.png"), fullPage: true });
    expect(await rowCount(desktop)).toBe(3);

    const phone = await openStudioPage(browser, api.url, { width: 390, height: 844 });
    try {
      await signInThroughForm(phone, api.url, ADMIN);
      await phone.page.getByRole("heading", { name: "Library" }).waitFor();
      await phone.page.goto(`${api.url}/studio/users`);
      await phone.page.locator("tr.user-row").first().waitFor();
      await search(phone, `-${tag}@`, 3);
      await phone.page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-390.png"), fullPage: true });
      // A card per account, nothing wider than the window.
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // Your own card, with its longest action ("Remove admin").
      await search(phone, ADMIN.email, 1);
      await phone.page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-own-390.png") });
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      expect(await seriousAxeViolations(phone.page)).toEqual([]);
      // Between a phone and a wide window (the actions stack in their cell) nothing is cut off.
      await phone.page.setViewportSize({ width: 1024, height: 800 });
      await search(phone, `-${tag}@`, 3);
      const widths = await phone.page.evaluate(() => {
        const card = document.querySelector(".table-card")!;
        return {
          page: document.documentElement.scrollWidth,
          card: card.clientWidth,
          table: card.scrollWidth,
        };
      });
      expect(widths.page).toBeLessThanOrEqual(1024);
      expect(widths.table).toBe(widths.card);
      await phone.page.screenshot({ path: join(STUDIO_SCREENSHOTS, "studio-users-1024.png") });
      expectNoProblems(phone);
    } finally {
      await phone.context.close();
    }
    expectNoProblems(desktop);
  }, 60_000);

  test("with another admin, removing your own admin (box ticked) works and signs you out of the studio", async () => {
    const { page } = desktop;
    expect((await userNamed(bob.email)).is_admin).toBe(true);
    await search(desktop, ADMIN.email, 1);
    await page.getByRole("button", { name: `Remove admin: ${ADMIN.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Remove admin from ${ADMIN.email}?` });
    await dialog.getByLabel("I mean to change my own account").check();
    await dialog.getByRole("button", { name: "Remove admin" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page
      .getByText("You removed your own admin right: every session of yours ended. Sign in again as a viewer.")
      .waitFor();

    const bobs = new Client(api.url);
    expect((await bobs.post("/api/login/", { email: bob.email, password: bob.password })).status).toBe(200);
    const demoted = (await (await bobs.get(`/api/admin/users/${me.id}`)).json()) as AdminUser;
    expect(demoted.is_admin).toBe(false);
    // Signing in again gets the no-access page: the right is gone, the account is not.
    await signInThroughForm(desktop, api.url, ADMIN);
    await page.getByRole("heading", { name: "No access to the studio" }).waitFor();
    expectNoProblems(desktop);
  }, 60_000);
});
