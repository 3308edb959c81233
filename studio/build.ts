// `bun run studio:build`: the studio's production bundle, made by Bun.build alone. Writes into the
// output folder (STUDIO_DIR, default ./dist/studio): assets/ with content-hashed names (cached for a
// year by the api), index.html naming them (never cached), and build.json with the hash of the sources
// it was made from, so `--if-stale` rebuilds only when a source, the script or React changed.
//   bun studio/build.ts [--out DIR] [--if-stale]
// The new build is made beside the old one and swapped in whole: the api never serves half of one.
import { createHash } from "node:crypto";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

const STUDIO_ROOT = import.meta.dir;
const SOURCES = join(STUDIO_ROOT, "src");
const ENTRY = join(SOURCES, "main.tsx");
/** Where the api serves the assets from (api/studio/index.ts). */
const ASSET_PATH = "/studio/assets/";
/** The packages bundled in: a new version is a new bundle. */
const BUNDLED_PACKAGES = ["react", "react-dom", "tus-js-client"];

export interface StudioBuild {
  source_hash: string;
  built_at: string;
  script: string;
  stylesheet: string;
  /** Every file under assets/, with its size in bytes. */
  assets: Record<string, number>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** sha256 over the sources (names and bytes; tests are no part of the bundle), this script and the
 * bundled packages' versions. */
export async function studioSourceHash(): Promise<string> {
  const hash = createHash("sha256");
  const sources = (await filesUnder(SOURCES)).filter((file) => !/\.test\.tsx?$/.test(file));
  for (const file of [...sources, join(STUDIO_ROOT, "build.ts")]) {
    hash
      .update(relative(STUDIO_ROOT, file))
      .update("\0")
      .update(await readFile(file))
      .update("\0");
  }
  for (const name of BUNDLED_PACKAGES) {
    const manifest = (await Bun.file(Bun.resolveSync(`${name}/package.json`, STUDIO_ROOT)).json()) as {
      version: string;
    };
    hash.update(`${name}@${manifest.version}\0`);
  }
  return hash.digest("hex");
}

/** The build in `outDir`, or null when there is none (or its build.json is unreadable). */
export async function readStudioBuild(outDir: string): Promise<StudioBuild | null> {
  try {
    return (await Bun.file(join(outDir, "build.json")).json()) as StudioBuild;
  } catch {
    return null;
  }
}

const page = (build: { script: string; stylesheet: string }) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light">
    <title>Videoflix Studio</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${ASSET_PATH}${build.stylesheet}">
    <script type="module" src="${ASSET_PATH}${build.script}"></script>
  </head>
  <body>
    <div id="root"></div>
    <noscript>The studio needs JavaScript.</noscript>
  </body>
</html>
`;

/** Bundles the studio into `outDir` (replacing what was there) and returns what it wrote. */
export async function buildStudio(outDir: string): Promise<StudioBuild> {
  const target = resolve(outDir);
  const staging = `${target}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const sourceHash = await studioSourceHash();
  const result = await Bun.build({
    entrypoints: [ENTRY],
    outdir: join(staging, "assets"),
    target: "browser",
    minify: true,
    sourcemap: "linked",
    publicPath: ASSET_PATH,
    naming: { entry: "[name]-[hash].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  if (!result.success) {
    await rm(staging, { recursive: true, force: true });
    throw new AggregateError(result.logs, `the studio did not build:\n${result.logs.join("\n")}`);
  }
  const names = result.outputs.map((output) => relative(join(staging, "assets"), output.path));
  const script = names.find((name) => name.endsWith(".js"));
  const stylesheet = names.find((name) => name.endsWith(".css"));
  if (!script || !stylesheet) throw new Error(`the studio's build lacks a script or a stylesheet: ${names}`);
  const build: StudioBuild = {
    source_hash: sourceHash,
    built_at: new Date().toISOString(),
    script,
    stylesheet,
    assets: Object.fromEntries(result.outputs.map((output, i) => [names[i]!, output.size])),
  };
  await Bun.write(join(staging, "index.html"), page(build));
  await Bun.write(join(staging, "build.json"), `${JSON.stringify(build, null, 2)}\n`);
  const previous = `${target}.previous-${process.pid}`;
  await rename(target, previous).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await rename(staging, target);
  await rm(previous, { recursive: true, force: true });
  return build;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const outDir = outAt >= 0 ? args[outAt + 1] : (process.env.STUDIO_DIR ?? "./dist/studio");
  if (!outDir) {
    console.error("usage: bun studio/build.ts [--out DIR] [--if-stale]");
    process.exit(2);
  }
  const current = args.includes("--if-stale") ? await readStudioBuild(outDir) : null;
  if (current && current.source_hash === (await studioSourceHash())) {
    console.log(`studio: ${outDir} is up to date (sources ${current.source_hash.slice(0, 12)})`);
  } else {
    const started = performance.now();
    const build = await buildStudio(outDir);
    const bytes = Object.values(build.assets).reduce((sum, size) => sum + size, 0);
    console.log(
      `studio: built ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s (${build.script}, ${build.stylesheet}; ${(bytes / 1024).toFixed(0)} KiB with source maps)`,
    );
  }
}
