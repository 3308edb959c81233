// `bun infra/check-image-sources.ts [Dockerfile…]` (check-ops.sh runs it on infra/docker/*.Dockerfile):
// every module a Bun image runs must be in the image. For each `CMD ["bun", "<file>", …]` (the container's
// command and its HEALTHCHECK) it follows the relative imports from that file and reports each one that
// no `COPY <path> ./<path>` of the final stage puts into the image: an image that lacks `contract/`
// builds fine and only fails when the container starts.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dir, "..");
const transpilers = {
  ts: new Bun.Transpiler({ loader: "ts" }),
  tsx: new Bun.Transpiler({ loader: "tsx" }),
};

/** The repository files (relative paths) `entry` needs at run time, itself included: relative imports only. */
export function moduleClosure(entry: string, root = REPO_ROOT): string[] {
  const seen = new Set<string>();
  const pending = [resolve(root, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const transpiler = file.endsWith(".tsx") ? transpilers.tsx : transpilers.ts;
    for (const { path, kind } of transpiler.scanImports(readFileSync(file, "utf8"))) {
      // Type-only imports are erased (scanImports leaves them out); a JSON import is data, still needed.
      if (!path.startsWith(".") || kind === "require-resolve") continue;
      const target = resolve(dirname(file), path);
      const found = [target, `${target}.ts`, `${target}.tsx`, join(target, "index.ts")].find(
        (candidate) => existsSync(candidate) && !candidate.endsWith("/") && /\.(tsx?|json)$/.test(candidate),
      );
      if (found) pending.push(found);
    }
  }
  return [...seen].map((file) => relative(root, file)).sort();
}

/** The paths the final stage copies from the build context (`COPY a b ./dest` → a, b), without `--from`. */
export function copiedPaths(dockerfile: string): string[] {
  const stages = dockerfile.split(/^FROM\s/im);
  const last = stages.at(-1) ?? "";
  const paths: string[] = [];
  for (const line of last.replace(/\\\n/g, " ").split("\n")) {
    const copy = /^\s*COPY\s+(.*)$/i.exec(line);
    if (!copy || /--from=/.test(copy[1]!)) continue;
    const words = copy[1]!.split(/\s+/).filter((word) => word && !word.startsWith("--"));
    paths.push(...words.slice(0, -1).map((word) => word.replace(/^\.\//, "").replace(/\/$/, "")));
  }
  return paths;
}

/** The Bun entry files of the final stage: `CMD ["bun", "<file>", …]`, HEALTHCHECK's included. */
export function bunEntries(dockerfile: string): string[] {
  const last = dockerfile.split(/^FROM\s/im).at(-1) ?? "";
  return [...last.matchAll(/CMD\s+\[\s*"bun"\s*,\s*"([^"]+)"/g)].map((match) => match[1]!);
}

/** What `dockerfile` runs but does not copy, as `<entry>: <module>` lines; empty when it is whole. */
export function missingSources(dockerfile: string, root = REPO_ROOT): string[] {
  const copied = copiedPaths(dockerfile);
  const inImage = (file: string) =>
    copied.some((path) => path === "." || file === path || file.startsWith(`${path}/`));
  const missing: string[] = [];
  for (const entry of bunEntries(dockerfile)) {
    for (const file of moduleClosure(entry, root)) {
      if (!inImage(file)) missing.push(`${entry}: ${file}`);
    }
  }
  return missing;
}

if (import.meta.main) {
  const files = process.argv.slice(2);
  let failed = false;
  for (const file of files) {
    const missing = missingSources(readFileSync(file, "utf8"));
    if (missing.length === 0) {
      console.log(`${file}: every module its bun commands import is copied`);
      continue;
    }
    failed = true;
    // One line per folder is enough to say what to COPY; the modules show why.
    const folders = [...new Set(missing.map((line) => line.split(": ")[1]!.split("/")[0]))];
    console.error(`${file}: not copied into the image (add COPY lines for ${folders.join(", ")}):`);
    for (const line of missing) console.error(`  ${line}`);
  }
  process.exit(failed ? 1 : 0);
}
