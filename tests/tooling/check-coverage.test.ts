// check:coverage (infra/check-coverage.ts) on a small lcov file and source tree made here: figures per
// folder and together, a file the test process never loaded counted as uncovered, and the floors' verdict.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseLcov } from "../../infra/check-coverage/lcov.ts";
import { checkCoverage, estimateLines, formatReport } from "../../infra/check-coverage.ts";

const record = (file: string, lines: [number, number][], functions: [number, number]) =>
  [
    "TN:",
    `SF:${file}`,
    `FNF:${functions[0]}`,
    `FNH:${functions[1]}`,
    ...lines.map(([line, count]) => `DA:${line},${count}`),
    `LF:${lines.length}`,
    `LH:${lines.filter(([, count]) => count > 0).length}`,
    "end_of_record",
  ].join("\n");

const hits = (count: number, ran: number) =>
  Array.from({ length: count }, (_, index): [number, number] => [index + 1, index < ran ? 1 : 0]);

const sources: Record<string, string> = {
  "api/app.ts": "export const app = 1;\n",
  "api/routes.ts": "export const routes = 2;\n",
  "api/app.test.ts": "test();\n",
  "contract/types.ts": "export interface Job {\n  id: string;\n}\nexport type Id = string;\n",
  "storage/local.ts": "export const local = 3;\n",
  "transcoder/main.ts": [
    "// started as a child process only",
    "import { run } from './worker.ts';",
    "const code: number = await run();",
    "if (code !== 0) {",
    "  process.exit(code);",
    "}",
  ].join("\n"),
  "transcoder/worker.ts": "export const run = async () => 0;\n",
  "dev/stack.ts": "export const stack = 4;\n",
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "check-coverage-"));
  for (const [file, text] of Object.entries(sources)) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

const lcov = [
  record("api/app.ts", hits(10, 10), [4, 4]),
  record("api/routes.ts", hits(10, 6), [4, 2]),
  record("api/app.test.ts", hits(10, 0), [1, 0]),
  record("storage/local.ts", hits(20, 19), [5, 5]),
  record("transcoder/worker.ts", hits(10, 9), [2, 2]),
  record("dev/stack.ts", hits(10, 0), [3, 0]),
].join("\n");

describe("parseLcov", () => {
  test("counts DA lines that ran and FNF/FNH per file; a file recorded twice merges by line", () => {
    const twice = `${record(
      "api/app.ts",
      [
        [1, 0],
        [2, 3],
        [3, 0],
      ],
      [2, 1],
    )}\n${record(
      "api/app.ts",
      [
        [1, 2],
        [3, 0],
      ],
      [2, 2],
    )}`;
    expect(parseLcov(twice).get("api/app.ts")).toEqual({
      lines: { found: 3, hit: 2 },
      functions: { found: 2, hit: 2 },
    });
  });
});

describe("estimateLines", () => {
  test("types only is nothing to run; statements count, closing braces do not", () => {
    expect(estimateLines(sources["contract/types.ts"] as string, "types.ts")).toBe(0);
    expect(estimateLines(sources["transcoder/main.ts"] as string, "main.ts")).toBe(4);
  });
});

describe("checkCoverage", () => {
  const files = Object.keys(sources);

  test("figures per folder and together; test files and other folders left out", async () => {
    const report = await checkCoverage({ root, lcov, files, floors: {} });
    const byFolder = Object.fromEntries(report.folders.map((folder) => [folder.folder, folder]));
    expect(byFolder.api?.lines).toEqual({ found: 20, hit: 16 });
    expect(byFolder.api?.functions).toEqual({ found: 8, hit: 6 });
    expect(byFolder.api?.files.map((file) => file.file)).toEqual(["api/routes.ts", "api/app.ts"]);
    expect(byFolder.storage?.lines).toEqual({ found: 20, hit: 19 });
    // contract/types.ts declares types only: nothing to count, never loaded or not.
    expect(byFolder.contract?.files).toEqual([]);
    expect(report.failures).toEqual([]);
  });

  test("a source file the test process never loaded counts as uncovered, not as absent", async () => {
    const report = await checkCoverage({ root, lcov, files, floors: {} });
    const transcoder = report.folders.find((folder) => folder.folder === "transcoder");
    expect(transcoder?.lines).toEqual({ found: 14, hit: 9 });
    expect(transcoder?.files[0]).toMatchObject({ file: "transcoder/main.ts", loaded: false });
    expect(report.together.lines).toEqual({ found: 54, hit: 44 });
    const table = formatReport(report);
    expect(table).toContain("transcoder/main.ts 0% (never loaded) (4 lines uncovered)");
    expect(table).toContain("1 never loaded in the test process");
  });

  test("each folder and the folders together are held to their floors", async () => {
    const even = (lines: number, functions: number) =>
      Object.fromEntries(
        ["api", "contract", "storage", "transcoder", "together"].map((name) => [name, { lines, functions }]),
      );
    const report = await checkCoverage({ root, lcov, files, floors: even(80, 70) });
    expect(report.failures).toEqual(["transcoder/ lines 64.3% < 80%"]);
    // A floor of its own for one folder; the others keep theirs.
    const lower = await checkCoverage({
      root,
      lcov,
      files,
      floors: { ...even(80, 70), transcoder: { lines: 60, functions: 70 } },
    });
    expect(lower.failures).toEqual([]);
    const strict = await checkCoverage({ root, lcov, files, floors: even(90, 90) });
    expect(strict.failures).toEqual([
      "api/ lines 80.0% < 90%",
      "api/ functions 75.0% < 90%",
      "transcoder/ lines 64.3% < 90%",
      "together lines 81.5% < 90%",
      "together functions 86.7% < 90%",
    ]);
  });
});
