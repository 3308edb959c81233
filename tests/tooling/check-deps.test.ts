// check:deps (infra/check-deps.ts) against a small fixture tree (a git repo with untracked files, so the
// file listing is git's too) covering each rule and each import form, and against the real repo with one
// planted file that exists only in memory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkDeps, compileGlob, type DepsReport, formatViolation } from "../../infra/check-deps.ts";

const repoRoot = join(import.meta.dir, "../..");

const fixture: Record<string, string> = {
  ".gitignore": "ignored/\n",
  "ignored/bad.ts": `import "../api/app.ts";\n`,
  "contract/video.ts": [
    `import { Type } from "@sinclair/typebox";`,
    `import type { VideoRow } from "../db/schema.ts";`,
    `export const STAGES = Type.Union([]);`,
  ].join("\n"),
  "transcoder/worker.ts": [
    `import { STAGES } from "../contract/video.ts";`,
    `import { env } from "../config/env";`,
    `import { local } from "../storage";`,
    `import type { VideoRow } from "../db/schema.ts";`,
    `export { ApiError } from "../api/http/errors.ts";`,
    `const mailer = await import("../emails/mailer.ts");`,
    `const app = require("../api/app");`,
    `type App = typeof import("../api/app.ts");`,
    `// import { commented } from "../api/app.ts";`,
    `const text = 'import { quoted } from "../api/app.ts"';`,
    `import { frame } from "../tests/support/frames.ts";`,
    `import {`,
    `  multi,`,
    `} from "../db/client.ts";`,
  ].join("\n"),
  "db/schema.ts": [
    `import type { STAGES } from "../contract/video.ts";`,
    `import { type A, type B } from "../contract/video.ts";`,
    `export type { C } from "../contract/video.ts";`,
  ].join("\n"),
  "db/client.ts": [
    `import { STAGES } from "../contract/video.ts";`,
    `import { app } from "../api/app.ts";`,
  ].join("\n"),
  "emails/mailer.ts": `import { env } from "../config/env.ts";\n`,
  "emails/templates/activation.tsx": [
    `import { Layout } from "../layout.tsx";`,
    `export const Activation = () => (`,
    `  <Layout>`,
    `    <p>Don't import("../../api/app.ts") here, it's only text</p>`,
    `  </Layout>`,
    `);`,
    `import { local } from "../../storage/index.ts";`,
  ].join("\n"),
  "emails/layout.tsx": `export const Layout = ({ children }: { children: unknown }) => <div>{children}</div>;\n`,
  "storage/index.ts": `export * from "./local.ts";\n`,
  "storage/local.ts": `export const local = 1;\n`,
  "config/env.ts": `import { log } from "../api/logger.ts";\n`,
  "api/logger.ts": `export const log = 1;\n`,
  "api/app.ts": [
    `import { catalogue } from "./catalogue/index.ts";`,
    `import { presentVideo } from "./videos/presenter.ts";`,
  ].join("\n"),
  "api/catalogue/index.ts": `export const catalogue = 1;\n`,
  "api/catalogue/cache.ts": `import type { Job } from "../../transcoder/worker.ts";\n`,
  "api/catalogue/presenter.ts": [
    `import { Elysia } from "elysia";`,
    `import { presentVideo } from "../videos/presenter.ts";`,
    `import { auth } from "../auth/plugin.ts";`,
    `import { ApiError } from "../http/errors.ts";`,
    `import { config } from "../config";`,
    `import { signAccess } from "../auth/access-tokens.ts";`,
    `import { cached } from "./cache.js";`,
    `import { clock } from "../shared/clock.ts";`,
    `import { log } from "../logger.ts";`,
  ].join("\n"),
  "api/catalogue/presenter.test.ts": [
    `import { presentVideo } from "../videos/presenter.ts";`,
    `import "../../tests/support/frames.ts";`,
  ].join("\n"),
  "api/videos/presenter.ts": `export const presentVideo = 1;\n`,
  "api/auth/plugin.ts": `import { signAccess } from "./access-tokens.ts";\n`,
  "api/auth/access-tokens.ts": `export const signAccess = 1;\n`,
  "api/http/errors.ts": [
    `import { clock } from "../shared/clock.ts";`,
    `import { presentVideo } from "../videos/presenter.ts";`,
  ].join("\n"),
  "api/shared/clock.ts": [
    `import { config } from "../config/index.ts";`,
    `import { ApiError } from "../http/errors.ts";`,
    `import { catalogue } from "../catalogue/index.ts";`,
  ].join("\n"),
  "api/config/index.ts": `import { clock } from "../shared/clock.ts";\n`,
  "dev/supervisor.ts": [
    `import { app } from "../api/app.ts";`,
    `import { frame } from "../tests/support/frames.ts";`,
  ].join("\n"),
  "tests/support/frames.ts": `import { app } from "../../api/app.ts";\nexport const frame = 1;\n`,
  // The studio talks to the server over HTTP only: not even the contract's types.
  "studio/src/app.tsx": [
    `import { Row } from "./row.tsx";`,
    `import type { AdminVideo } from "../../api/videos/model.ts";`,
    `import type { STAGES } from "../../contract/video.ts";`,
  ].join("\n"),
  "studio/src/row.tsx": `export const Row = () => <tr />;\n`,
};

let fixtureRoot: string;
let report: DepsReport;
let lines: string[];

beforeAll(async () => {
  fixtureRoot = await mkdtemp(join(tmpdir(), "check-deps-"));
  for (const [path, text] of Object.entries(fixture)) {
    await mkdir(dirname(join(fixtureRoot, path)), { recursive: true });
    await writeFile(join(fixtureRoot, path), text);
  }
  await Bun.$`git init --quiet`.cwd(fixtureRoot);
  report = await checkDeps({ root: fixtureRoot });
  lines = report.violations.map((violation) => formatViolation(violation).replace(/ — .*/, ""));
});

afterAll(async () => {
  await rm(fixtureRoot, { recursive: true, force: true });
});

describe("check:deps on a fixture tree", () => {
  test("reports exactly the forbidden edges, in file and line order", () => {
    expect(lines).toEqual([
      "api/catalogue/cache.ts:1 imports transcoder/worker.ts",
      "api/catalogue/presenter.ts:2 imports api/videos/presenter.ts",
      "api/catalogue/presenter.ts:6 imports api/auth/access-tokens.ts",
      "api/config/index.ts:1 imports api/shared/clock.ts",
      "api/http/errors.ts:1 imports api/shared/clock.ts",
      "api/http/errors.ts:2 imports api/videos/presenter.ts",
      "api/shared/clock.ts:3 imports api/catalogue/index.ts",
      "config/env.ts:1 imports api/logger.ts",
      "contract/video.ts:2 imports db/schema.ts",
      "db/client.ts:1 imports contract/video.ts",
      "db/client.ts:2 imports api/app.ts",
      "dev/supervisor.ts:2 imports tests/support/frames.ts",
      "emails/mailer.ts:1 imports config/env.ts",
      "emails/templates/activation.tsx:7 imports storage/index.ts",
      "studio/src/app.tsx:2 imports api/videos/model.ts",
      "studio/src/app.tsx:3 imports contract/video.ts",
      "transcoder/worker.ts:4 imports db/schema.ts",
      "transcoder/worker.ts:5 imports api/http/errors.ts",
      "transcoder/worker.ts:6 imports emails/mailer.ts",
      "transcoder/worker.ts:7 imports api/app.ts",
      "transcoder/worker.ts:8 imports api/app.ts",
      "transcoder/worker.ts:11 imports tests/support/frames.ts",
      "transcoder/worker.ts:14 imports db/client.ts",
    ]);
  });

  test("every import form is an edge: type-only, export … from, dynamic, require, typeof import", () => {
    const kinds = report.violations
      .filter((violation) => violation.file === "transcoder/worker.ts")
      .map(({ line, kind, typeOnly }) => ({ line, kind, typeOnly }));
    expect(kinds).toEqual([
      { line: 4, kind: "import", typeOnly: true },
      { line: 5, kind: "export-from", typeOnly: false },
      { line: 6, kind: "dynamic-import", typeOnly: false },
      { line: 7, kind: "require", typeOnly: false },
      { line: 8, kind: "import-type", typeOnly: true },
      { line: 11, kind: "import", typeOnly: false },
      { line: 14, kind: "import", typeOnly: false },
    ]);
  });

  test("specifiers resolve with or without an extension, to index files, and .js to .ts", () => {
    const targets = (file: string) => report.projectEdges.filter((e) => e.file === file).map((e) => e.target);
    expect(targets("transcoder/worker.ts").slice(0, 3)).toEqual([
      "contract/video.ts",
      "config/env.ts",
      "storage/index.ts",
    ]);
    expect(targets("api/catalogue/presenter.ts")).toContain("api/config/index.ts");
    expect(targets("api/catalogue/presenter.ts")).toContain("api/catalogue/cache.ts");
    // the package import is counted but is no edge of ours
    expect(report.projectEdges.some((edge) => edge.specifier === "elysia")).toBe(false);
  });

  test("comments, strings and JSX text hold no import; git-ignored files are not read", () => {
    expect(report.projectEdges.filter((edge) => edge.file === "transcoder/worker.ts")).toHaveLength(10);
    expect(
      report.projectEdges.filter((edge) => edge.file === "emails/templates/activation.tsx"),
    ).toHaveLength(2);
    expect(report.projectEdges.some((edge) => edge.file.startsWith("ignored/"))).toBe(false);
    expect(report.files.toSorted()).toEqual(
      Object.keys(fixture)
        .filter((path) => /\.tsx?$/.test(path) && !path.startsWith("ignored/"))
        .toSorted(),
    );
  });

  test("each failure line ends with the sentence of the rule broken", () => {
    const line = (file: string, target: string) =>
      report.violations
        .filter((violation) => violation.file === file && violation.target === target)
        .map(formatViolation)[0];
    expect(line("api/catalogue/presenter.ts", "api/videos/presenter.ts")).toBe(
      "api/catalogue/presenter.ts:2 imports api/videos/presenter.ts — one api feature never imports another's internals (use a shared module: api/shared/…)",
    );
    expect(line("transcoder/worker.ts", "tests/support/frames.ts")).toContain(
      "production code never imports tests/",
    );
    expect(line("db/client.ts", "contract/video.ts")).toContain("only as types");
  });
});

describe("check:deps on this repo", () => {
  test("a planted import from the transcoder into the api is reported, and Bun's own scan agrees on imports", async () => {
    const planted = "transcoder/__planted__.ts";
    const real = await checkDeps({
      root: repoRoot,
      contents: { [planted]: `// planted by the test\nimport { ApiError } from "../api/http/errors.ts";\n` },
    });
    expect(real.violations.filter((violation) => violation.file === planted).map(formatViolation)).toEqual([
      "transcoder/__planted__.ts:2 imports api/http/errors.ts — the transcoder never reaches the api or the database, it reports through Redis (of ours it imports contract/, config/, connections/, storage/)",
    ]);
    expect(real.files.length).toBeGreaterThan(100);

    // Every value import Bun's transpiler finds in a file, the checker found too (it also finds type-only ones).
    const ourImports = new Map<string, Set<string>>();
    for (const edge of real.projectEdges) {
      ourImports.set(edge.file, (ourImports.get(edge.file) ?? new Set()).add(edge.specifier));
    }
    const transpilers = {
      ts: new Bun.Transpiler({ loader: "ts" }),
      tsx: new Bun.Transpiler({ loader: "tsx" }),
    };
    const missed: string[] = [];
    for (const file of real.files.filter((path) => path !== planted)) {
      const specifiers = ourImports.get(file) ?? new Set();
      const source = await Bun.file(join(repoRoot, file)).text();
      for (const { path } of transpilers[/x$/.test(file) ? "tsx" : "ts"].scanImports(source)) {
        if (path.startsWith(".") && !specifiers.has(path)) missed.push(`${file}: ${path}`);
      }
    }
    expect(missed).toEqual([]);
  });
});

test("globs: * within a segment, ** across segments, <name> captures one segment", () => {
  expect(compileGlob("**/*.test.ts").test("api/auth/x.test.ts")).toBe(true);
  expect(compileGlob("**/*.test.ts").test("x.test.ts")).toBe(true);
  expect(compileGlob("api/*/**").test("api/app.ts")).toBe(false);
  expect(compileGlob("api/*/**").test("api/auth/plugin.ts")).toBe(true);
  expect(compileGlob("api/<feature>/**").exec("api/auth/a/b.ts")?.groups).toEqual({ feature: "auth" });
  expect(compileGlob("api/<feature>/**", { feature: "auth" }).test("api/authz/x.ts")).toBe(false);
});
