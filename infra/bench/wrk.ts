// Runs wrk (C, one thread) against a URL and returns its requests/second; the benchmarks share it.
import { spawn } from "bun";

export function requireWrk(): string {
  const wrk = Bun.which("wrk");
  if (!wrk) {
    throw new Error(
      "wrk is not installed: the bench:* npm scripts install it (`bash infra/setup.sh bench`); run one of them or that",
    );
  }
  return wrk;
}

export interface WrkResult {
  requestsPerSecond: number;
  /** Requests completed in the whole run. */
  requests: number;
  non2xx: number;
  latencyP99Ms: number | null;
}

/** Async on purpose: the server under test may live in this very process and must keep serving. */
export async function runWrk(
  url: string,
  options: { seconds: number; connections: number; headers?: readonly string[]; script?: string },
): Promise<WrkResult> {
  const args = [requireWrk(), "-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--latency"];
  for (const header of options.headers ?? []) args.push("-H", header);
  if (options.script) args.push("-s", options.script);
  const run = spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
  const [output, errors, exitCode] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
    run.exited,
  ]);
  if (exitCode !== 0) throw new Error(`wrk failed: ${errors || output}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!rps) throw new Error(`could not read wrk output:\n${output}`);
  const requests = /(\d+) requests in/.exec(output);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(output);
  const scale = { us: 0.001, ms: 1, s: 1000 } as const;
  return {
    requestsPerSecond: Number(rps[1]),
    requests: requests ? Number(requests[1]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    latencyP99Ms: p99 ? Number(p99[1]) * scale[p99[2] as keyof typeof scale] : null,
  };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
