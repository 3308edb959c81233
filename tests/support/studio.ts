// The studio in a real browser: its bundle built into a scratch folder, pages that may reach only the
// api's origin (anything else is aborted, so a stray font or CDN request fails fast and shows up), a
// record of CSP violations and page errors, sign-in through the form, and axe-core's audit.
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";

const AXE_SOURCE = readFileSync(Bun.resolveSync("axe-core/axe.min.js", import.meta.dir), "utf8");

export interface StudioPage {
  context: BrowserContext;
  page: Page;
  /** CSP violations and uncaught errors in the page, as text. */
  problems: string[];
  /** Requests the page made, as "METHOD path?query". */
  requests: string[];
  /** Requests to other origins that were aborted. */
  foreign: string[];
}

export async function openStudioPage(
  browser: Browser,
  apiUrl: string,
  viewport = { width: 1280, height: 900 },
): Promise<StudioPage> {
  const origin = new URL(apiUrl).origin;
  const context = await browser.newContext({ viewport });
  const problems: string[] = [];
  const requests: string[] = [];
  const foreign: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin) return route.continue();
    foreign.push(url.href);
    return route.abort();
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.text().startsWith("CSP violation")) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.origin === origin) requests.push(`${request.method()} ${url.pathname}${url.search}`);
  });
  return { context, page, problems, requests, foreign };
}

/** Opens /studio/ and signs in through the form, with the keyboard only. */
export async function signInThroughForm(
  studio: StudioPage,
  apiUrl: string,
  account: { email: string; password: string },
) {
  const { page } = studio;
  await page.goto(`${apiUrl}/studio/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Email").focus();
  await page.keyboard.type(account.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(account.password);
  await page.keyboard.press("Enter");
}

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeFinding[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script> would be).
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (context: Document, options: object) => Promise<unknown> } }
    ).axe;
    const result = (await axe.run(document, { resultTypes: ["violations"] })) as {
      violations: Array<{
        id: string;
        impact: string | null;
        help: string;
        nodes: Array<{ target: string[] }>;
      }>;
    };
    return result.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact ?? "",
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(" ")),
      }));
  });
}
