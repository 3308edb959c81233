// Finding a child process that a component started (FFmpeg inside a worker), to freeze it as a hung
// read or a stalled disk would, from /proc; who a process runs as, and what runs below a process.
import { readdir, readFile, readlink } from "node:fs/promises";

/** The pid of a running `exe` (by file name) whose command line contains `argument`, or null. */
export async function findProcess(exe: string, argument: string): Promise<number | null> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const binary = await readlink(`/proc/${entry}/exe`).catch(() => "");
    if (!binary.endsWith(`/${exe}`)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").some((arg) => arg.includes(argument))) return Number(entry);
  }
  return null;
}

/** Polls until such a process exists; returns its pid (fails after `timeoutMs`). */
export async function waitForProcess(exe: string, argument: string, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await findProcess(exe, argument);
    if (pid !== null) return pid;
    if (Date.now() > deadline) throw new Error(`no ${exe} with "${argument}" within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

/** The real, effective, saved and file-system uids of a running process (/proc/<pid>/status). */
export async function uidsOf(pid: number): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const line = /^Uid:\s+(.+)$/m.exec(status)?.[1];
  if (!line) throw new Error(`no Uid line in /proc/${pid}/status`);
  return line.trim().split(/\s+/).map(Number);
}

/** A process as /proc shows it: what a later check needs to know it is still the same one. */
export interface ProcessEntry {
  pid: number;
  parent: number;
  /** Clock ticks after boot at which it started: a reused pid has another. */
  started: number;
  command: string[];
}

async function entryOf(pid: number): Promise<ProcessEntry | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (!stat) return null;
  // The command name (field 2) may hold spaces and parentheses: count the fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // A zombie has finished; only its parent has not collected its status yet.
  if (fields[0] === "Z") return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return {
    pid,
    parent: Number(fields[1]),
    started: Number(fields[19]),
    command: cmdline.split("\0").filter(Boolean),
  };
}

/** Every running process. */
async function allProcesses(): Promise<ProcessEntry[]> {
  const pids = (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map(Number);
  const entries = await Promise.all(pids.map(entryOf));
  return entries.filter((entry): entry is ProcessEntry => entry !== null);
}

/** The running children of `pid`. */
export async function childrenOf(pid: number): Promise<ProcessEntry[]> {
  return (await allProcesses()).filter((entry) => entry.parent === pid);
}

/** Everything running below `pid` (children, their children, …), `pid` itself left out. */
export async function descendantsOf(pid: number): Promise<ProcessEntry[]> {
  const all = await allProcesses();
  const found: ProcessEntry[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop();
    for (const entry of all.filter((candidate) => candidate.parent === parent)) {
      found.push(entry);
      parents.push(entry.pid);
    }
  }
  return found;
}

/** Those of `entries` still running (same pid, same start time, not a zombie). */
export async function stillRunning(entries: ProcessEntry[]): Promise<ProcessEntry[]> {
  const now = await Promise.all(entries.map((entry) => entryOf(entry.pid)));
  return entries.filter((entry, i) => now[i]?.started === entry.started);
}
