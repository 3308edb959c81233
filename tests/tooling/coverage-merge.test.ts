// infra/check-coverage/merge.ts on lcov files that bun itself writes: two test processes over one module
// (npm test's two phases) merged against one process running both files, and named functions summed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLcov } from "../../infra/check-coverage/lcov.ts";
import { mergeLcov } from "../../infra/check-coverage/merge.ts";

const sources: Record<string, string> = {
  "ladder.ts": [
    "export function rungsFor(height: number): number[] {",
    "  if (height >= 720) {",
    "    return [720, 480, 360];",
    "  }",
    "  return [360];",
    "}",
    "export function bitrateFor(height: number): number {",
    "  const perLine = 4000;",
    "  return height * perLine;",
    "}",
    "export function unused(): string {",
    "  return 'never';",
    "}",
  ].join("\n"),
  "rungs.test.ts": `import { expect, test } from "bun:test";\nimport { rungsFor } from "./ladder.ts";\ntest("r", () => expect(rungsFor(1080)).toHaveLength(3));\n`,
  "bitrate.test.ts": `import { expect, test } from "bun:test";\nimport { bitrateFor } from "./ladder.ts";\ntest("b", () => expect(bitrateFor(360)).toBe(1440000));\n`,
};

let root: string;
const lcov: Record<"rungs" | "bitrate" | "both", string> = { rungs: "", bitrate: "", both: "" };

/** bun test over `files` in `root`, with coverage; the lcov text it wrote. */
async function coverageOf(name: string, files: string[]): Promise<string> {
  const dir = join(root, `coverage-${name}`);
  const child = Bun.spawn(
    [
      "bun",
      "test",
      "--coverage",
      "--coverage-reporter=lcov",
      `--coverage-dir=${dir}`,
      ...files.map((f) => `./${f}`),
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`bun test ${files.join(" ")} failed: ${stderr}`);
  return Bun.file(join(dir, "lcov.info")).text();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "vf-coverage-merge-"));
  for (const [file, text] of Object.entries(sources)) await writeFile(join(root, file), text);
  [lcov.rungs, lcov.bitrate, lcov.both] = await Promise.all([
    coverageOf("rungs", ["rungs.test.ts"]),
    coverageOf("bitrate", ["bitrate.test.ts"]),
    coverageOf("both", ["rungs.test.ts", "bitrate.test.ts"]),
  ]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The DA records of one file: line → hits. */
function lineHits(text: string, file: string): Map<number, number> {
  const record = text.split("end_of_record").find((part) => part.includes(`SF:${file}\n`)) ?? "";
  return new Map(
    [...record.matchAll(/^DA:(\d+),(\d+)$/gm)].map((match) => [Number(match[1]), Number(match[2])]),
  );
}
const field = (text: string, file: string, key: string) => {
  const record = text.split("end_of_record").find((part) => part.includes(`SF:${file}\n`)) ?? "";
  return Number(new RegExp(`^${key}:(\\d+)$`, "m").exec(record)?.[1]);
};

describe("merging bun's lcov files", () => {
  test("each phase saw part of ladder.ts; merged, the lines that ran are those of one process running both", () => {
    const merged = mergeLcov([lcov.rungs, lcov.bitrate]);
    const rungs = lineHits(lcov.rungs, "ladder.ts");
    const bitrate = lineHits(lcov.bitrate, "ladder.ts");
    const both = lineHits(lcov.both, "ladder.ts");
    // The phases differ (else the test proves nothing): a line ran in one only.
    expect([...rungs].some(([line, hits]) => hits > 0 !== (bitrate.get(line) ?? 0) > 0)).toBe(true);
    const mergedHits = lineHits(merged.text, "ladder.ts");
    expect([...mergedHits.keys()].sort()).toEqual([...both.keys()].sort());
    for (const [line, hits] of mergedHits) {
      expect({ line, hits }).toEqual({ line, hits: (rungs.get(line) ?? 0) + (bitrate.get(line) ?? 0) });
      expect({ line, ran: hits > 0 }).toEqual({ line, ran: (both.get(line) ?? 0) > 0 });
    }
    // LF/LH counted again; the same figures check:coverage reads from one process.
    expect(field(merged.text, "ladder.ts", "LF")).toBe(mergedHits.size);
    expect(field(merged.text, "ladder.ts", "LH")).toBe(field(lcov.both, "ladder.ts", "LH"));
    expect(parseLcov(merged.text).get("ladder.ts")?.lines).toEqual(
      parseLcov(lcov.both).get("ladder.ts")!.lines,
    );
    // A file of one phase only passes through as it was.
    expect(lineHits(merged.text, "bitrate.test.ts")).toEqual(lineHits(lcov.bitrate, "bitrate.test.ts"));
  });

  test("bun names no functions: FNH is what one process surely ran, and the rest is said to be unknown", () => {
    const merged = mergeLcov([lcov.rungs, lcov.bitrate]);
    const found = field(lcov.both, "ladder.ts", "FNF");
    const single = field(lcov.both, "ladder.ts", "FNH");
    expect(lcov.both).not.toContain("FNDA:");
    expect(field(merged.text, "ladder.ts", "FNF")).toBe(found);
    const surely = field(merged.text, "ladder.ts", "FNH");
    expect(surely).toBe(
      Math.max(field(lcov.rungs, "ladder.ts", "FNH"), field(lcov.bitrate, "ladder.ts", "FNH")),
    );
    // What one process over both files counts lies between the merged figure and it plus the unknown.
    expect(surely).toBeLessThan(single);
    expect(surely + merged.functionsUnknown).toBeGreaterThanOrEqual(single);
  });

  test("named functions (FN/FNDA, as other tools write) are summed by name and FNF/FNH counted again", () => {
    const record = (fndas: [string, number][]) =>
      [
        "TN:",
        "SF:api/app.ts",
        ...fndas.map(([name], index) => `FN:${index + 1},${name}`),
        ...fndas.map(([name, hits]) => `FNDA:${hits},${name}`),
        `FNF:${fndas.length}`,
        `FNH:${fndas.filter(([, hits]) => hits > 0).length}`,
        "DA:1,0",
        "LF:1",
        "LH:0",
        "end_of_record",
      ].join("\n");
    const merged = mergeLcov([
      record([
        ["start", 2],
        ["stop", 0],
        ["drain", 0],
      ]),
      record([
        ["start", 1],
        ["stop", 3],
        ["drain", 0],
      ]),
    ]);
    expect(merged.text).toContain("FNDA:3,start\nFNDA:3,stop\nFNDA:0,drain\nFNF:3\nFNH:2\n");
    expect(merged.text).toContain("DA:1,0\nLF:1\nLH:0\nend_of_record");
    expect(merged.functionsUnknown).toBe(0);
  });
});
