// An interrupted `bench:viewers` stops everything it started. The bench's shell functions
// (infra/loadtest-lib.sh, which infra/bench/viewers.sh is made of) start the real load-test stack
// (load-tests/stack.ts: PostgreSQL, Redis, api, transcoder, nginx edge), seed a viewer and the plain
// nginx baseline, then wait on a long step in the background as they wait on k6's climb (k6 itself is
// not needed for what is checked). A SIGTERM to that shell must leave no process of it and no port
// open once it exits; a SIGKILL, which runs no trap, must end the same within the stack's stop time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portOpen } from "../../dev/probes.ts";
import { REPO_ROOT } from "../../dev/stack.ts";
import { eventually } from "../support/eventually.ts";
import { descendantsOf, type ProcessEntry, stillRunning } from "../support/processes.ts";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "vf-viewers-interrupt-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

// viewers.sh's order of steps, on one viewer and no clips, with a long wait where the climb would be.
const HARNESS = `
set -euo pipefail
. infra/lib/output.sh
. infra/lib/dev-env.sh
. infra/loadtest-lib.sh
out="$1"
mkdir -p "$out/baseline/nginx"
export LOADTEST_EDGE=1
start_stack "$out"
export SEED_FILE="$out/seed.json"
seed_stack "$SEED_FILE" VIEWERS=1 VIDEOS=0 UPLOAD_CLIP_SECONDS=1 SEED_TIMEOUT_SECONDS=120
start_baseline "$out/stack" "$out/baseline/nginx"
step "climbing"
# Its output to a file, as k6's goes to its summary: what the trap says must still reach the terminal.
run_waited sleep 600 >"$out/climb.txt" 2>&1
`;

interface Started {
  shell: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
  /** Every process below the shell while it climbs. */
  processes: ProcessEntry[];
  /** The ports of the edge, the api, the stack's Redis and the baseline nginx. */
  ports: number[];
}

/** Runs the harness until it climbs; every process below it and every port it opened, recorded. */
async function startClimb(name: string): Promise<Started> {
  const out = join(work, name);
  const shell = Bun.spawn(["bash", "-c", HARNESS, "harness", out], {
    cwd: REPO_ROOT,
    // Nothing of this machine's stack settings: the stack starts its own Redis (and PostgreSQL, unless
    // TEST_DATABASE_URL names the tests' server).
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...(process.env.TEST_DATABASE_URL ? { TEST_DATABASE_URL: process.env.TEST_DATABASE_URL } : {}),
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(shell.stdout);
  void collect(shell.stderr);
  await eventually(
    "the harness climbing",
    async () => {
      if (shell.exitCode !== null) throw new Error(`the harness exited ${shell.exitCode}:\n${output}`);
      return output.includes("==> climbing");
    },
    120_000,
  );
  const stack = JSON.parse(readFileSync(join(out, "stack/stack.json"), "utf8")) as Record<string, string>;
  const baseline = readFileSync(join(out, "baseline/nginx/baseline.env"), "utf8");
  const ports = [
    stack.base_url,
    stack.api_url,
    stack.redis_url,
    /BASELINE_URL=(\S+)/.exec(baseline)?.[1],
  ].map((url) => Number(new URL(url!).port));
  const processes = await descendantsOf(shell.pid);
  const commands = processes.map((entry) => entry.command.join(" "));
  // What must go: the stack's supervisor, its api, transcoder and edge, the baseline and its nginx.
  for (const expected of [
    "load-tests/stack.ts",
    "api/main.ts",
    "transcoder/main.ts",
    "infra/nginx/edge.ts",
  ]) {
    expect(commands.some((command) => command.includes(expected))).toBe(true);
  }
  expect(commands.some((command) => command.includes("viewers-baseline.ts"))).toBe(true);
  // The edge's nginx and the baseline's.
  expect(commands.filter((command) => command.includes("nginx: master process")).length).toBe(2);
  for (const port of ports) expect(await portOpen("127.0.0.1", port)).toBe(true);
  return { shell, output: () => output, processes, ports };
}

async function openPorts(ports: number[]): Promise<number[]> {
  const open = await Promise.all(ports.map((port) => portOpen("127.0.0.1", port)));
  return ports.filter((_, i) => open[i]);
}

test("a SIGTERM while it climbs stops the stack and the baseline before the script exits", async () => {
  const started = await startClimb("term");
  started.shell.kill("SIGTERM");
  expect(await started.shell.exited).toBe(130);
  expect(started.output()).toContain("warning: interrupted");
  expect(started.output()).toContain("==> stopping the baseline");
  expect(started.output()).toContain("==> stopping the stack");
  // The shell waited for both to stop; only the climb's stand-in may take a moment to be reaped.
  const left = await eventually(
    "nothing left running",
    async () => {
      const running = await stillRunning(started.processes);
      return running.length === 0 ? running : null;
    },
    10_000,
  ).catch(async () => stillRunning(started.processes));
  expect(left.map((entry) => entry.command.join(" "))).toEqual([]);
  expect(await openPorts(started.ports)).toEqual([]);
}, 240_000);

test("a SIGKILL, which runs no trap, still ends the stack and the baseline", async () => {
  const started = await startClimb("kill");
  started.shell.kill("SIGKILL");
  await started.shell.exited;
  // Each got SIGTERM from the kernel when the shell died, and stops as it would on request.
  const left = await eventually(
    "nothing left running",
    async () => {
      const running = await stillRunning(started.processes);
      return running.length === 0 ? running : null;
    },
    60_000,
  ).catch(async () => stillRunning(started.processes));
  expect(left.map((entry) => entry.command.join(" "))).toEqual([]);
  expect(await openPorts(started.ports)).toEqual([]);
}, 240_000);
