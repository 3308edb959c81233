// `bun infra/test-phases.ts`: the test files that start a SeaweedFS, one per line on stdout, so that npm test
// (infra/test.sh) runs every other file while `weed` still builds and these once it is there. A file starts
// one when its code can reach weedBinary() in dev/seaweedfs.ts, the one place that finds the binary
// (infra/test-phases/reach.ts reads that from the source). The split, with each file's path to it, goes to
// stderr. What the reading cannot see (a child process that starts weed) fails loudly instead: npm test runs
// the first phase with SEAWEEDFS_UNAVAILABLE set, which makes weedBinary() throw.
import { resolve } from "node:path";
import { SOURCE_EXTENSIONS } from "./check-deps/imports.ts";
import { reachingTests, type Target } from "./test-phases/reach.ts";

export const SEAWEEDFS: Target = { file: "dev/seaweedfs.ts", name: "weedBinary" };

/** The names bun test takes for test files (its docs, "Test file discovery"). */
export const isTestFile = (file: string): boolean =>
  /(\.|_)(test|spec)\.[cm]?[jt]sx?$/.test(file) && !file.split("/").includes("node_modules");

export interface TestPhases {
  /** the test files that reach no SeaweedFS */
  without: string[];
  /** the test files that do, each with its path to weedBinary() */
  seaweedfs: Map<string, string[]>;
}

export async function testPhases(root: string, files?: string[]): Promise<TestPhases> {
  const listed = files ?? (await gitFiles(root));
  const sources = listed.filter((file) => SOURCE_EXTENSIONS.some((extension) => file.endsWith(extension)));
  const { reaching, notReaching } = await reachingTests({
    root,
    sources,
    tests: sources.filter(isTestFile),
    target: SEAWEEDFS,
    preload: await preloads(root),
  });
  return { without: notReaching, seaweedfs: reaching };
}

/** bunfig.toml's `[test] preload`: run before every test file, so on every file's path. */
async function preloads(root: string): Promise<string[]> {
  const bunfig = Bun.file(resolve(root, "bunfig.toml"));
  if (!(await bunfig.exists())) return [];
  const preload = (Bun.TOML.parse(await bunfig.text()) as { test?: { preload?: string | string[] } }).test
    ?.preload;
  return [preload ?? []].flat().map((path) => path.replace(/^\.\//, ""));
}

async function gitFiles(root: string): Promise<string[]> {
  const output = await Bun.$`git ls-files -z --cached --others --exclude-standard`.cwd(root).quiet().text();
  return output.split("\0").filter((file) => file !== "");
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const phases = await testPhases(root).catch((error: unknown) => {
    console.error(`test-phases: could not read the tests: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  });
  console.error(
    `test files: ${phases.without.length} start no SeaweedFS (bun test runs them while it builds), ` +
      `${phases.seaweedfs.size} start one (after it is built):`,
  );
  for (const [file, path] of phases.seaweedfs) {
    console.error(`    ${file} (${path.slice(1).join(" → ")})`);
    console.log(file);
  }
}
