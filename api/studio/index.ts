// The studio (the admin web app in studio/) as the api serves it: the bundle `bun run studio:build`
// wrote into STUDIO_DIR. Its HTML answers every client route under /studio/ (the app routes itself) and
// is never cached; its assets have hashed names and are cached for a year. The studio talks to the api
// through the same public routes as every other client: nothing here renders data.
import { join } from "node:path";
import { Elysia } from "elysia";
import type { Config } from "../config/load.ts";
import { ApiError, notFound } from "../http/errors.ts";
import { studioPageHeaders } from "./security-headers.ts";

export const STUDIO_PATH = "/studio";

/** What the build writes: hashed file names of letters, digits, `-`, `_` and dots, nothing else. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*\.(?:js|css|map|svg|png|woff2)$/;

const IMMUTABLE = "public, max-age=31536000, immutable";

export function studioRoutes(deps: { config: Pick<Config, "studioDir" | "publicOrigin" | "storage"> }) {
  const { config } = deps;
  const pageHeaders = studioPageHeaders(config);
  const indexPath = join(config.studioDir, "index.html");
  const assetsDir = join(config.studioDir, "assets");

  const page = async ({ path }: { path: string }) => {
    // A file the build does not have is a 404, not the app's page under an asset's name.
    if (path.startsWith(`${STUDIO_PATH}/assets/`)) throw notFound();
    const html = Bun.file(indexPath);
    // A missing build is the operator's to fix, and says how; never a crash or an empty page.
    if (!(await html.exists())) {
      throw new ApiError(503, {
        detail: `The studio is not built: run \`bun run studio:build\` (it writes ${config.studioDir}).`,
      });
    }
    return new Response(html, {
      headers: {
        ...pageHeaders,
        "content-type": "text/html; charset=utf-8",
        // Always asked again: a new build's HTML names new asset files.
        "cache-control": "no-cache",
      },
    });
  };

  return (
    new Elysia({ name: "studio", detail: { hide: true } })
      .get(`${STUDIO_PATH}/assets/:name`, async ({ params }) => {
        if (!ASSET_NAME.test(params.name)) throw notFound();
        const file = Bun.file(join(assetsDir, params.name));
        if (!(await file.exists())) throw notFound();
        return new Response(file, {
          headers: { "cache-control": IMMUTABLE, "x-content-type-options": "nosniff" },
        });
      })
      // Elysia's paths are not strict: this answers /studio as well.
      .get(`${STUDIO_PATH}/`, page)
      .get(`${STUDIO_PATH}/*`, page)
  );
}
