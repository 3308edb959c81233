import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Elysia } from "elysia";

/** Where the OpenAPI page loads its UI from: this api, never a CDN (no third-party script, no @latest). */
export const API_REFERENCE_SCRIPT_PATH = "/openapi/scalar.js";

const BUNDLE = "@scalar/api-reference/dist/browser/standalone.js";

/**
 * The installed Scalar bundle, or null when the package is not installed. The package's exports map
 * does not list the browser bundle, so it is found beside the entry point that it does export.
 */
function installedBundle(): string | null {
  try {
    const bundle = join(
      dirname(Bun.resolveSync("@scalar/api-reference", import.meta.dir)),
      "browser/standalone.js",
    );
    return existsSync(bundle) ? bundle : null;
  } catch {
    return null;
  }
}

// Without the package the page says so and links the JSON document instead of fetching a script.
const MISSING_BUNDLE = `document.body.innerHTML = '<p style="font-family:sans-serif;margin:2rem">The API reference UI (${BUNDLE}) is not installed. The OpenAPI document is at <a href="json">openapi/json</a>.</p>';`;

/** Serves the OpenAPI page's script from node_modules (the page is the openapi plugin's `scalar.cdn`). */
export function apiReferenceScript() {
  const bundle = installedBundle();
  return new Elysia({ name: "api-reference-script" }).get(
    API_REFERENCE_SCRIPT_PATH,
    () =>
      new Response(bundle ? Bun.file(bundle) : MISSING_BUNDLE, {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": bundle ? "public, max-age=86400" : "no-store",
        },
      }),
    { detail: { hide: true } },
  );
}
