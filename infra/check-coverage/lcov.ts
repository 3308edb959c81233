// Reading the lcov file `bun test --coverage --coverage-reporter=lcov` writes: per source file, which lines
// ran (DA records) and how many functions there are and ran (FNF/FNH; Bun writes no per-function FN lines).

/** What the test process ran of one file. */
export interface FileCoverage {
  /** executable lines Bun saw, and how many of them ran */
  lines: { found: number; hit: number };
  functions: { found: number; hit: number };
}

/** The records of an lcov file by source path (as written, relative to the directory the tests ran in). */
export function parseLcov(text: string): Map<string, FileCoverage> {
  const files = new Map<
    string,
    { lines: Map<number, number>; functionsFound: number; functionsHit: number }
  >();
  let current: { lines: Map<number, number>; functionsFound: number; functionsHit: number } | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const colon = line.indexOf(":");
    const key = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1);
    if (key === "SF") {
      // A file seen twice (records of several runs concatenated) merges: a line ran if it ran in either.
      current = files.get(value) ?? { lines: new Map(), functionsFound: 0, functionsHit: 0 };
      files.set(value, current);
    } else if (key === "end_of_record") {
      current = undefined;
    } else if (current && key === "DA") {
      const [number, count] = value.split(",").map(Number);
      if (number === undefined || count === undefined || Number.isNaN(number) || Number.isNaN(count))
        continue;
      current.lines.set(number, Math.max(current.lines.get(number) ?? 0, count));
    } else if (current && key === "FNF") {
      current.functionsFound = Math.max(current.functionsFound, Number(value) || 0);
    } else if (current && key === "FNH") {
      current.functionsHit = Math.max(current.functionsHit, Number(value) || 0);
    }
  }
  const coverage = new Map<string, FileCoverage>();
  for (const [file, record] of files) {
    const hit = [...record.lines.values()].filter((count) => count > 0).length;
    coverage.set(file, {
      lines: { found: record.lines.size, hit },
      functions: { found: record.functionsFound, hit: Math.min(record.functionsHit, record.functionsFound) },
    });
  }
  return coverage;
}
