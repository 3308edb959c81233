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

/**
 * A player page as a course client would write it: `startPlayback(api, account, videoId)` signs in
 * with fetch (the api sets its HttpOnly cookies), then plays the master playlist with hls.js, sending
 * credentials to the api only, and resolves with the quality levels; fatal errors land in `errors`.
 */
export const PLAYER_PAGE = `<!doctype html>
<html><body>
<video id="player" muted playsinline></video>
<script src="/hls.js"></script>
<script>
  window.startPlayback = async (api, account, videoId) => {
    const login = await fetch(api + "/api/login/", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(account),
    });
    if (!login.ok) throw new Error("login failed: " + login.status);
    if (!Hls.isSupported()) throw new Error("hls.js: MediaSource is not supported here");
    const video = document.getElementById("player");
    // Credentials for the api only: a store or CDN serving presigned segment URLs gets none.
    const hls = new Hls({ xhrSetup: (xhr, url) => { xhr.withCredentials = url.startsWith(api); } });
    window.errors = [];
    // Non-fatal errors (a nudge over a small gap at the start of a TS stream) are hls.js recovering.
    hls.on(Hls.Events.ERROR, (_event, data) => data.fatal && window.errors.push(data.type + "/" + data.details));
    window.hls = hls;
    await new Promise((resolve, reject) => {
      hls.on(Hls.Events.MANIFEST_PARSED, resolve);
      hls.on(Hls.Events.ERROR, (_event, data) => data.fatal && reject(new Error(data.details)));
      hls.loadSource(api + "/api/video/" + videoId + "/master.m3u8");
      hls.attachMedia(video);
    });
    await video.play();
    return hls.levels.map((level) => level.height);
  };
</script>
</body></html>`;

/** Serves `page` at every path of its own origin, and hls.js from the package at /hls.js. */
export function servePlayerPage(page = PLAYER_PAGE): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/hls.js"
        ? new Response(Bun.file(HLS_JS), { headers: { "content-type": "text/javascript" } })
        : new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
  });
}
