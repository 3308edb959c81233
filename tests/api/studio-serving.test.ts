// How the api serves the studio's bundle (studio/build.ts writes it into STUDIO_DIR): the HTML for every
// client route under /studio/, never cached, with a strict CSP and no framing; hashed assets cached for
// a year; a missing build a clear 503, a missing asset a 404, both JSON.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildStudio, readStudioBuild, type StudioBuild, studioSourceHash } from "../../studio/build.ts";
import { expectError } from "../support/assertions.ts";
import { startTestApi, type TestApi } from "../support/test-api.ts";

let workDir: string;
let build: StudioBuild;
let api: TestApi;
/** A replica of the same stores whose STUDIO_DIR holds no build. */
let unbuilt: TestApi;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-studio-"));
  build = await buildStudio(join(workDir, "studio"));
  api = await startTestApi({ STUDIO_DIR: join(workDir, "studio") });
  unbuilt = await startTestApi({ STUDIO_DIR: join(workDir, "missing") }, { shareWith: api });
}, 60_000);

afterAll(async () => {
  await unbuilt?.stop();
  await api?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the studio's build", () => {
  test("names its assets by content hash and records the hash of its sources", async () => {
    expect(build.script).toMatch(/^main-[a-z0-9]{8}\.js$/);
    expect(build.stylesheet).toMatch(/^main-[a-z0-9]{8}\.css$/);
    expect(build.source_hash).toBe(await studioSourceHash());
    expect(await readStudioBuild(join(workDir, "studio"))).toEqual(build);
    expect(await readStudioBuild(join(workDir, "missing"))).toBeNull();
  });
});

describe("GET /studio/", () => {
  test("answers the HTML, never cached, with a strict CSP, no framing and the hashed assets", async () => {
    const response = await fetch(`${api.url}/studio/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const csp = (response.headers.get("content-security-policy") ?? "").split("; ");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    const origin = api.config.publicOrigin;
    expect(csp).toContain(`connect-src 'self' ${origin.replace(/^http/, "ws")} ${origin}`);
    expect(csp).toContain(`img-src 'self' ${origin} data: blob:`);
    expect(csp).toContain(`media-src 'self' ${origin} blob:`);
    expect(csp.some((directive) => directive.includes("unsafe"))).toBe(false);
    const html = await response.text();
    expect(html).toContain(`<script type="module" src="/studio/assets/${build.script}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="/studio/assets/${build.stylesheet}">`);
    // No inline script or style for the CSP to refuse.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
  });

  test("answers the same HTML for /studio and for client routes under /studio/", async () => {
    const root = await (await fetch(`${api.url}/studio/`)).text();
    for (const path of ["/studio", "/studio/videos/12", "/studio/some/deep/route?x=1"]) {
      const response = await fetch(`${api.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(await response.text()).toBe(root);
    }
  });

  test("serves the hashed assets for a year, with their types; a missing one is a JSON 404", async () => {
    const script = await fetch(`${api.url}/studio/assets/${build.script}`);
    expect(script.status).toBe(200);
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(script.headers.get("content-type")).toStartWith("text/javascript");
    expect((await script.arrayBuffer()).byteLength).toBe(build.assets[build.script]!);
    const stylesheet = await fetch(`${api.url}/studio/assets/${build.stylesheet}`);
    expect(stylesheet.headers.get("content-type")).toStartWith("text/css");
    await stylesheet.arrayBuffer();
    for (const name of [
      "main-00000000.js",
      "..%2Fbuild.json",
      "%2E%2E%2Findex.html",
      "build.json",
      "a/b.js",
    ]) {
      await expectError(await fetch(`${api.url}/studio/assets/${name}`), 404);
    }
  });

  test("without a build: a 503 that says how to make one, for the page and its assets", async () => {
    const { body } = await expectError(await fetch(`${unbuilt.url}/studio/`), 503);
    expect(body.detail).toContain("bun run studio:build");
    await expectError(await fetch(`${unbuilt.url}/studio/library`), 503);
    await expectError(await fetch(`${unbuilt.url}/studio/assets/${build.script}`), 404);
  });

  test("is not part of the OpenAPI document (it is a web app, not an API)", async () => {
    const document = (await (await fetch(`${api.url}/openapi/json`)).json()) as { paths: object };
    expect(Object.keys(document.paths).filter((path) => path.startsWith("/studio"))).toEqual([]);
  });
});
