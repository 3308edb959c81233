// Finding a child process that a component started (FFmpeg inside a worker), to freeze it as a hung
// read or a stalled disk would, from /proc.
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
