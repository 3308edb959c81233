// CPU seconds spent by the processes a benchmark drives: this process (the in-process api), the
// bench's Redis and its PostgreSQL server. On a machine shared with other work a request rate swings
// with what else runs; the CPU each side spends per request moves far less, so the benches print it
// beside their rates (and a ratio of it), measured over the same runs.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "bun";
import type Redis from "ioredis";
import type postgres from "postgres";

const CLOCK_TICKS = Number(spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** This process's user + system CPU, in seconds. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Redis's own count of its CPU (INFO cpu: every thread of the server), in seconds. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return field("used_cpu_user") + field("used_cpu_sys");
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces); null once it is gone. */
function statOf(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime + stime (fields 14 and 15 of stat), in seconds. */
const cpuSecondsOf = (stat: string[]) => (Number(stat[11]) + Number(stat[12])) / CLOCK_TICKS;

/**
 * The PostgreSQL server behind `sql` (the postmaster and every process it started: backends, WAL
 * writer, checkpointer …), as a function returning their CPU seconds so far. Null when the server is
 * not on this machine or its processes cannot be read. A backend that exits between two readings
 * takes its count with it: the bench's connections are pooled and stay.
 */
export async function postgresCpuMeter(sql: postgres.Sql): Promise<(() => number) | null> {
  const [row] = await sql<[{ pid: number }]>`select pg_backend_pid() as pid`;
  const parent = statOf(row!.pid)?.[1];
  const postmaster = parent === undefined ? null : Number(parent);
  if (!postmaster || !statOf(postmaster)) return null;
  return () => {
    let seconds = 0;
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = statOf(pid);
      if (stat && (pid === postmaster || Number(stat[1]) === postmaster)) seconds += cpuSecondsOf(stat);
    }
    return seconds;
  };
}
