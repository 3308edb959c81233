// `bun run check:coverage`: line and function coverage of the production folders, read from the lcov file
// `bun test --coverage` writes (npm test: var/coverage/lcov.info), and a non-zero exit below the floors.
//
// Bun counts only what ran in the test process itself: code run by child processes (transcoder workers
// started by the farm tests, the api under dev/stack) is not seen. A source file the test process never
// loaded is absent from the lcov file; it is counted here as entirely uncovered (its executable lines
// estimated from Bun's transpiled output), so a file no test reaches lowers the figure instead of vanishing.
import { relative, resolve } from "node:path";
import { type FileCoverage, parseLcov } from "./check-coverage/lcov.ts";

/** The folders held to a floor, each and together. */
export const FOLDERS = ["api", "contract", "storage", "transcoder"];

export type Floors = Record<string, { lines: number; functions: number }>;
/**
 * In percent, by folder and "together": a point or two under what the whole suite measured (README,
 * "Coverage"), so a change that leaves code untested fails while the run-to-run wobble does not. The
 * issue's floor is 85 % of lines together and per folder; transcoder/ is held to just that, with room
 * under what it measures. Of transcoder/, only the thin entries main.ts and cli.ts run solely in child
 * processes, which Bun does not count: the worker (service.ts) and the CLI's command (cli/command.ts)
 * are tested in process as well.
 */
export const FLOORS: Floors = {
  api: { lines: 88, functions: 93 },
  contract: { lines: 95, functions: 90 },
  storage: { lines: 90, functions: 83 },
  // Functions 89 (was 91) since the source cache (2026-12-02): its code and worker.ts run in both bun
  // test processes, each a different part, and the merge counts the larger share, never the union.
  // 88 since CHUNKING=auto became the default (2026-12-03, measured 88.8 %): the worker's chunking
  // wiring (chunks/worker-pieces.ts, 22 % in process) runs in the chunked-farm e2e's transcoder child
  // processes, which Bun's coverage does not count.
  transcoder: { lines: 85, functions: 88 },
  together: { lines: 86, functions: 91 },
};

export interface FolderCoverage {
  folder: string;
  lines: { found: number; hit: number };
  functions: { found: number; hit: number };
  /** every source file of the folder, least covered (most uncovered lines) first */
  files: { file: string; coverage: FileCoverage; loaded: boolean }[];
}

export interface CoverageReport {
  folders: FolderCoverage[];
  together: Omit<FolderCoverage, "files" | "folder">;
  /** "api/ lines 80.1% < 85%" for each figure under its floor; empty when all hold */
  failures: string[];
}

const percent = (part: { found: number; hit: number }) =>
  part.found === 0 ? 100 : (100 * part.hit) / part.found;

/** Executable lines of a file that never ran: the non-blank lines of its JavaScript (types erased). */
export function estimateLines(source: string, file: string): number {
  const transpiler = new Bun.Transpiler({ loader: file.endsWith(".tsx") ? "tsx" : "ts" });
  return transpiler
    .transformSync(source)
    .split("\n")
    .filter((line) => /[^\s{}()[\];,]/.test(line)).length;
}

export interface CoverageOptions {
  root: string;
  lcov: string;
  /** source files relative to root (default: what git tracks plus untracked files it does not ignore) */
  files?: string[];
  /** by folder name and "together"; a name without an entry has no floor */
  floors?: Floors;
}

export async function checkCoverage(options: CoverageOptions): Promise<CoverageReport> {
  const floors = options.floors ?? FLOORS;
  const measured = new Map<string, FileCoverage>();
  for (const [file, coverage] of parseLcov(options.lcov)) {
    measured.set(relative(options.root, resolve(options.root, file)), coverage);
  }
  const sources = (options.files ?? (await gitFiles(options.root))).filter(
    (file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file) && !file.endsWith(".d.ts"),
  );
  const folders: FolderCoverage[] = [];
  for (const folder of FOLDERS) {
    const files: FolderCoverage["files"] = [];
    for (const file of sources.filter((source) => source.startsWith(`${folder}/`))) {
      const coverage = measured.get(file);
      if (coverage) {
        files.push({ file, coverage, loaded: true });
      } else {
        const found = estimateLines(await Bun.file(resolve(options.root, file)).text(), file);
        if (found === 0) continue; // types only: nothing to run
        files.push({
          file,
          coverage: { lines: { found, hit: 0 }, functions: { found: 0, hit: 0 } },
          loaded: false,
        });
      }
    }
    files.sort(
      (a, b) =>
        b.coverage.lines.found - b.coverage.lines.hit - (a.coverage.lines.found - a.coverage.lines.hit) ||
        a.file.localeCompare(b.file),
    );
    folders.push({ folder, ...sum(files.map((entry) => entry.coverage)), files });
  }
  const together = sum(folders);
  const failures: string[] = [];
  const figures = [...folders.map((f) => [f.folder, f] as const), ["together", together] as const];
  for (const [name, measuredFigures] of figures) {
    const floor = floors[name];
    if (!floor) continue;
    for (const metric of ["lines", "functions"] as const) {
      const value = percent(measuredFigures[metric]);
      const label = name === "together" ? name : `${name}/`;
      if (value < floor[metric]) failures.push(`${label} ${metric} ${value.toFixed(1)}% < ${floor[metric]}%`);
    }
  }
  return { folders, together, failures };
}

function sum(parts: { lines: { found: number; hit: number }; functions: { found: number; hit: number } }[]) {
  const total = { lines: { found: 0, hit: 0 }, functions: { found: 0, hit: 0 } };
  for (const part of parts) {
    for (const metric of ["lines", "functions"] as const) {
      total[metric].found += part[metric].found;
      total[metric].hit += part[metric].hit;
    }
  }
  return total;
}

async function gitFiles(root: string): Promise<string[]> {
  const output = await Bun.$`git ls-files -z --cached --others --exclude-standard`.cwd(root).quiet().text();
  return output.split("\0").filter((file) => file !== "");
}

const figure = (part: { found: number; hit: number }) =>
  `${percent(part).toFixed(1).padStart(5)}% (${part.hit}/${part.found})`;

/** The table npm test prints, with the files that leave the most lines uncovered in each folder. */
export function formatReport(report: CoverageReport, worst = 3): string {
  const rows = [`${"folder".padEnd(12)}${"lines".padEnd(22)}${"functions".padEnd(20)}files`];
  for (const folder of report.folders) {
    const unloaded = folder.files.filter((file) => !file.loaded).length;
    rows.push(
      `${`${folder.folder}/`.padEnd(12)}${figure(folder.lines).padEnd(22)}${figure(folder.functions).padEnd(20)}` +
        `${folder.files.length}${unloaded ? ` (${unloaded} never loaded in the test process)` : ""}`,
    );
  }
  rows.push(
    `${"together".padEnd(12)}${figure(report.together.lines).padEnd(22)}${figure(report.together.functions)}`,
  );
  for (const folder of report.folders) {
    const least = folder.files
      .filter((file) => file.coverage.lines.hit < file.coverage.lines.found)
      .slice(0, worst);
    if (least.length === 0) continue;
    const named = least.map(
      ({ file, coverage, loaded }) =>
        `${file} ${percent(coverage.lines).toFixed(0)}%${loaded ? "" : " (never loaded)"} ` +
        `(${coverage.lines.found - coverage.lines.hit} lines uncovered)`,
    );
    rows.push(`most uncovered in ${folder.folder}/: ${named.join(", ")}`);
  }
  return rows.join("\n");
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const path = resolve(process.argv[2] ?? `${root}/var/coverage/lcov.info`);
  const file = Bun.file(path);
  if (!(await file.exists())) {
    console.error(`no coverage at ${path}: bun test --coverage writes it (npm test does)`);
    process.exit(2);
  }
  const report = await checkCoverage({ root, lcov: await file.text() });
  console.log(formatReport(report));
  if (report.failures.length > 0) {
    console.error(
      `coverage below its floor (FLOORS in infra/check-coverage.ts): ${report.failures.join("; ")}`,
    );
    process.exit(1);
  }
  const floors = Object.entries(FLOORS).map(
    ([name, floor]) => `${name === "together" ? name : `${name}/`} ${floor.lines}/${floor.functions}`,
  );
  console.log(`coverage floors hold (lines/functions %): ${floors.join(", ")}`);
}
