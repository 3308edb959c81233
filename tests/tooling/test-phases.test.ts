// infra/test-phases.ts (which test files npm test holds back until SeaweedFS is built) on a small tree that
// exists only in memory, one file per way of reaching the target, and on the repo itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reachingTests } from "../../infra/test-phases/reach.ts";
import { isTestFile, testPhases } from "../../infra/test-phases.ts";

const repoRoot = join(import.meta.dir, "../..");

const tree: Record<string, string> = {
  "dev/seaweedfs.ts": [
    "export interface S3Bucket { bucket: string }",
    "export function weedBinary(): string { return 'weed'; }",
    "export async function plan() { return [weedBinary()]; }",
    "export const keys = () => ({ id: 'VF' });",
  ].join("\n"),
  "dev/services.ts": [
    `import { plan, type S3Bucket } from "./seaweedfs.ts";`,
    "let server: Promise<unknown> | undefined;",
    "async function startServer() { server ??= plan(); return server; }",
    "export async function testS3(): Promise<S3Bucket> { await startServer(); return { bucket: 'b' }; }",
    "export function freePort() { return 1; }",
    "export async function stopTestServices() { await server; }",
  ].join("\n"),
  "tests/support/reexports.ts": `export * from "../../dev/services.ts";\nexport { keys as s3Keys } from "../../dev/seaweedfs.ts";`,
  "tests/support/eager.ts": `import { testS3 } from "../../dev/services.ts";\nexport const bucket = await testS3();\nexport const name = "x";`,
  "tests/support/lazy.ts": [
    `import { freePort, testS3 } from "../../dev/services.ts";`,
    "export const s3Helper = async () => testS3();",
    "export function portHelper() { return freePort(); }",
  ].join("\n"),
  "tests/ports.test.ts": `import { freePort, stopTestServices } from "../dev/services.ts";\ntest("p", () => freePort());\nafterAll(stopTestServices);`,
  "tests/bucket.test.ts": `import { testS3 } from "../dev/services.ts";\ndescribe("s3", () => { test("b", async () => { await testS3(); }); });`,
  "tests/through-star.test.ts": `import { testS3 } from "./support/reexports.ts";\ntest("b", () => testS3());`,
  "tests/renamed.test.ts": `import { s3Keys } from "./support/reexports.ts";\ntest("k", () => s3Keys());`,
  "tests/namespace.test.ts": `import * as services from "../dev/services.ts";\ntest("p", () => services.freePort());`,
  "tests/dynamic.test.ts": `test("d", async () => { const { plan } = await import("../dev/seaweedfs.ts"); await plan(); });`,
  "tests/eager-helper.test.ts": `import { name } from "./support/eager.ts";\ntest("n", () => name);`,
  "tests/side-effect.test.ts": `import "./support/eager.ts";\ntest("s", () => 1);`,
  "tests/lazy-helper.test.ts": `import { portHelper } from "./support/lazy.ts";\ntest("p", () => portHelper());`,
  "tests/types-only.test.ts": [
    `import type { S3Bucket } from "../dev/seaweedfs.ts";`,
    `import { type S3Bucket as Other } from "../dev/services.ts";`,
    "const config: { testS3: S3Bucket | Other | null } = { testS3: null };",
    "test('t', () => config.testS3);",
  ].join("\n"),
  "tests/setup-eager.ts": `import { testS3 } from "../dev/services.ts";\nawait testS3();`,
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "vf-test-phases-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const split = (options: { preload?: string[]; target?: { file: string; name: string } } = {}) =>
  reachingTests({
    root,
    sources: Object.keys(tree),
    tests: Object.keys(tree).filter(isTestFile),
    target: options.target ?? { file: "dev/seaweedfs.ts", name: "weedBinary" },
    preload: options.preload,
    contents: new Map(Object.entries(tree)),
  });

describe("which test files reach weedBinary()", () => {
  test("through a call in a test, `export *`, a namespace, import(), a helper's top level, a bare import", async () => {
    const { reaching, notReaching } = await split();
    expect([...reaching.keys()].sort()).toEqual([
      "tests/bucket.test.ts",
      "tests/dynamic.test.ts",
      "tests/eager-helper.test.ts",
      "tests/namespace.test.ts",
      "tests/side-effect.test.ts",
      "tests/through-star.test.ts",
    ]);
    // A name of a module that holds a path elsewhere (lazy.ts's portHelper, reexports.ts's s3Keys) leaves
    // the path out; types and property names are no uses.
    expect(notReaching.sort()).toEqual([
      "tests/lazy-helper.test.ts",
      "tests/ports.test.ts",
      "tests/renamed.test.ts",
      "tests/types-only.test.ts",
    ]);
    expect(reaching.get("tests/bucket.test.ts")).toEqual([
      "tests/bucket.test.ts",
      "dev/services.ts:startServer",
      "dev/seaweedfs.ts:weedBinary",
    ]);
  });

  test("a preload that reaches it at its top level puts every test file on the path", async () => {
    const { notReaching } = await split({ preload: ["tests/setup-eager.ts"] });
    expect(notReaching).toEqual([]);
  });

  test("a target the tree does not declare is an error, never an empty split", async () => {
    const error = await split({ target: { file: "dev/seaweedfs.ts", name: "startWeed" } }).catch(
      (thrown: unknown) => thrown,
    );
    expect(String(error)).toContain("dev/seaweedfs.ts declares no top-level startWeed");
  });
});

describe("on the repo", () => {
  test("every test file that calls testS3() or startSeaweedfs() is held back; the others are not, and none is lost", async () => {
    const files = (
      await Bun.$`git ls-files -z --cached --others --exclude-standard`.cwd(repoRoot).quiet().text()
    )
      .split("\0")
      .filter((file) => file !== "");
    const phases = await testPhases(repoRoot, files);
    const tests = files.filter(isTestFile);
    expect([...phases.without, ...phases.seaweedfs.keys()].sort()).toEqual(tests.sort());
    // This file names them only in the fixture's text above.
    for (const file of tests.filter((path) => path !== "tests/tooling/test-phases.test.ts")) {
      const calls = /\b(testS3|startSeaweedfs)\(/.test(await Bun.file(join(repoRoot, file)).text());
      if (calls) expect({ file, held: phases.seaweedfs.has(file) }).toEqual({ file, held: true });
    }
    for (const path of phases.seaweedfs.values()) expect(path.at(-1)).toBe("dev/seaweedfs.ts:weedBinary");
    // Pure tooling tests import nothing that starts one.
    expect(phases.without).toContain("tests/tooling/check-coverage.test.ts");
  });

  test("SEAWEEDFS_UNAVAILABLE makes weedBinary() throw its reason, in a child process too", async () => {
    const child = Bun.spawnSync(
      ["bun", "-e", `import { weedBinary } from "./dev/seaweedfs.ts"; weedBinary();`],
      {
        cwd: repoRoot,
        env: { ...process.env, SEAWEEDFS_UNAVAILABLE: "phase one of the test" },
        stderr: "pipe",
      },
    );
    expect(child.exitCode).not.toBe(0);
    expect(child.stderr.toString()).toContain("SeaweedFS is not available here: phase one of the test");
  });
});
