// The api as its own process (`bun api/main.ts`), for what only a process shows: its resident memory
// (/proc/<pid>/status), and a restart that ends everything it held. Waited for until /ready answers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "../../dev/services.ts";
import { eventually } from "./eventually.ts";

const ROOT = join(import.meta.dir, "../..");

export interface ApiProcess {
  url: string;
  pid: number;
  /** Everything it wrote so far (JSON lines). */
  output(): string;
  /** SIGTERM (it finishes what is in flight) and its exit code. */
  stop(): Promise<number>;
}

const running = new Set<Subprocess>();

/** `env` on top of NODE_ENV=test, a free loopback port and its PUBLIC_URL. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn([process.execPath, "api/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      PUBLIC_URL: url,
      LOG_LEVEL: "warn",
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const stop = async () => {
    child.kill("SIGTERM");
    const code = await child.exited;
    running.delete(child);
    return code;
  };
  await eventually(
    `the api process on ${url} to be ready`,
    async () => {
      if (child.exitCode !== null)
        throw new Error(`the api exited ${child.exitCode}: ${output.slice(-2000)}`);
      return (await fetch(`${url}/ready`).catch(() => null))?.status === 200 || undefined;
    },
    60_000,
  ).catch(async (error: Error) => {
    await stop();
    throw error;
  });
  return { url, pid: child.pid, output: () => output, stop };
}

/** Kills the api processes a test forgot (called from the test preload, like the transcoders). */
export async function killApiProcesses(): Promise<void> {
  for (const child of running) child.kill("SIGKILL");
  await Promise.all([...running].map((child) => child.exited));
  running.clear();
}

/** A process's resident set (VmRSS), in MiB. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}
