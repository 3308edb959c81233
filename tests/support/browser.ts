// Headless Chromium (Debian's, through playwright-core) and a page server for the player tests.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HLS_JS = join(import.meta.dir, "../../node_modules/hls.js/dist/hls.min.js");

/** Chromium as the guide asks for it, allowed to autoplay muted video; fails loudly without it. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash infra/setup.sh test does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** Serves `page` at every path of its own origin, and hls.js from the package at /hls.js. */
export function servePlayerPage(page: string): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/hls.js"
        ? new Response(Bun.file(HLS_JS), { headers: { "content-type": "text/javascript" } })
        : new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
  });
}
