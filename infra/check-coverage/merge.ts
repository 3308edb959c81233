// `bun infra/check-coverage/merge.ts <out> <lcov>…`: one lcov file from those of several bun test processes
// (npm test runs two: the files without SeaweedFS while it builds, then the rest), so check:coverage reads
// one figure for the whole suite. A file in several: per line the hits summed; named functions (FN/FNDA)
// likewise; LF/LH and FNF/FNH counted again from the merged records.
//
// Bun writes no named functions, only FNF/FNH, so which functions ran in both processes cannot be known:
// FNH is then the larger of the two, the fewest that surely ran (the merged figure never claims more than
// was seen), and FNF the larger too: Bun counts the functions it compiled, so a process that ran less of a
// file may count fewer of them (npm test of 21:05: storage/s3.ts 21 in one process, 34 in the other).
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";

interface FileRecord {
  /** line → hits, in first-seen order */
  lines: Map<number, number>;
  /** function name → its line and hits (FN and FNDA) */
  functions: Map<string, { line: number; hits: number }>;
  /** FNF and FNH as written, for records without FN lines (FNH: one per input that had the file) */
  functionsFound: number;
  functionsHit: number[];
}

export interface MergedLcov {
  text: string;
  files: number;
  /**
   * Functions that may have run although FNH does not count them: per file without FN lines, the hits of
   * its inputs summed (at most FNF) less the largest; 0 when no such file was in more than one input.
   */
  functionsUnknown: number;
}

/** Merges lcov texts into one, files in the order first seen. */
export function mergeLcov(texts: readonly string[]): MergedLcov {
  const records = new Map<string, FileRecord>();
  for (const text of texts) {
    let current: FileRecord | undefined;
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      const colon = line.indexOf(":");
      const key = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1);
      if (key === "SF") {
        current = records.get(value);
        if (!current) {
          current = { lines: new Map(), functions: new Map(), functionsFound: 0, functionsHit: [] };
          records.set(value, current);
        }
      } else if (key === "end_of_record") {
        current = undefined;
      } else if (current) {
        addEntry(current, key, value);
      }
    }
  }
  const out: string[] = [];
  let functionsUnknown = 0;
  for (const [file, record] of records) {
    out.push("TN:", `SF:${file}`);
    if (record.functions.size > 0) {
      for (const [name, { line }] of record.functions) out.push(`FN:${line},${name}`);
      for (const [name, { hits }] of record.functions) out.push(`FNDA:${hits},${name}`);
      const hit = [...record.functions.values()].filter((entry) => entry.hits > 0).length;
      out.push(`FNF:${record.functions.size}`, `FNH:${hit}`);
    } else {
      const surely = Math.min(Math.max(0, ...record.functionsHit), record.functionsFound);
      const atMost = Math.min(
        record.functionsHit.reduce((sum, hits) => sum + hits, 0),
        record.functionsFound,
      );
      functionsUnknown += atMost - surely;
      out.push(`FNF:${record.functionsFound}`, `FNH:${surely}`);
    }
    for (const [number, hits] of record.lines) out.push(`DA:${number},${hits}`);
    const hit = [...record.lines.values()].filter((hits) => hits > 0).length;
    out.push(`LF:${record.lines.size}`, `LH:${hit}`, "end_of_record");
  }
  return { text: out.length === 0 ? "" : `${out.join("\n")}\n`, files: records.size, functionsUnknown };
}

/** One line of a file's record (DA, FN, FNDA, FNF, FNH; the rest is counted again or not needed). */
function addEntry(record: FileRecord, key: string, value: string): void {
  const comma = value.indexOf(",");
  const [first, rest] = [value.slice(0, comma), value.slice(comma + 1)];
  if (key === "DA") {
    const [number, hits] = [Number(first), Number(rest.split(",")[0])];
    if (comma === -1 || !Number.isInteger(number) || !Number.isFinite(hits)) return;
    record.lines.set(number, (record.lines.get(number) ?? 0) + hits);
  } else if (key === "FN" && comma !== -1) {
    if (!record.functions.has(rest)) record.functions.set(rest, { line: Number(first), hits: 0 });
  } else if (key === "FNDA" && comma !== -1) {
    const entry = record.functions.get(rest) ?? { line: 0, hits: 0 };
    entry.hits += Number(first) || 0;
    record.functions.set(rest, entry);
  } else if (key === "FNF") {
    record.functionsFound = Math.max(record.functionsFound, Number(value) || 0);
  } else if (key === "FNH") {
    record.functionsHit.push(Number(value) || 0);
  }
}

if (import.meta.main) {
  const [output, ...inputs] = process.argv.slice(2);
  if (!output || inputs.length === 0) {
    console.error("usage: bun infra/check-coverage/merge.ts <out.lcov> <lcov>…");
    process.exit(2);
  }
  const texts: string[] = [];
  for (const input of inputs) {
    const file = Bun.file(resolve(input));
    if (!(await file.exists())) {
      console.error(`no coverage at ${input}: the bun test that writes it did not finish`);
      process.exit(2);
    }
    texts.push(await file.text());
  }
  const merged = mergeLcov(texts);
  await mkdir(dirname(resolve(output)), { recursive: true });
  await Bun.write(resolve(output), merged.text);
  console.log(
    `coverage: ${inputs.length} lcov files merged into ${output} (${merged.files} source files; ` +
      `functions counted as run where one process ran them: up to ${merged.functionsUnknown} more may have)`,
  );
}
