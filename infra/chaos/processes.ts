// Looking into /proc for the processes a fault is aimed at (the FFmpeg of a job, whose parent is the
// worker that runs it), and freezing one with SIGSTOP so that "mid-job" lasts as long as a fault needs
// without burning the CPU a longer source would.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessEntry {
  pid: number;
  ppid: number;
  argv: string[];
}

function entry(pid: number): ProcessEntry | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    // The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || argv.length === 0) return null;
    return { pid, ppid: Number(fields[1]), argv };
  } catch {
    return null; // it exited while we looked
  }
}

/** Live processes whose argv matches. */
export function processesWhere(matches: (argv: string[]) => boolean): ProcessEntry[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => entry(Number(name)))
    .filter((found): found is ProcessEntry => found !== null && matches(found.argv));
}

/** FFmpeg processes writing under `dir` (a job's encode writes into its staging directory). */
export const ffmpegWritingUnder = (dir: string) =>
  processesWhere(
    (argv) => argv[0]?.endsWith("ffmpeg") === true && argv.some((arg) => arg.startsWith(`${dir}/`)),
  );

export const isAlive = (pid: number) => entry(pid) !== null;

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
