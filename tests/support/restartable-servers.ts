// A Redis and a PostgreSQL of a test's own that it can stop, freeze and start again on the same port,
// for outage tests: the shared throwaway servers of dev/services.ts must stay up for every other test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import postgres from "postgres";
import { freePort, initThrowawayCluster, postgresBinDir, postgresServerCommand } from "../../dev/services.ts";

export interface RestartableServer {
  /** The URL clients connect to; the same across restarts. */
  readonly url: string;
  /** Starts the server (again; a running one is only thawed) and resolves once it answers. */
  start(): Promise<void>;
  /** Stops it the way an operator or a crash would; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGSTOP: the port still accepts connections but nothing answers (a hung host). */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms`);
}

/** The pids of a process and of its direct children (a PostgreSQL server's backends). */
function processTree(pid: number): number[] {
  const children = spawnSync(["ps", "-o", "pid=", "--ppid", String(pid)]).stdout.toString();
  return [pid, ...children.split(/\s+/).filter(Boolean).map(Number)];
}

function signalTree(child: Subprocess | null, signal: NodeJS.Signals): void {
  if (!child || child.exitCode !== null) return;
  for (const pid of processTree(child.pid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // a backend that just exited
    }
  }
}

/** A redis-server on a fixed free port that keeps nothing on disk; `stop` kills it (SIGKILL). */
export async function restartableRedis(): Promise<RestartableServer> {
  const binary = Bun.which("redis-server");
  if (!binary) throw new Error("redis-server not found");
  const port = await freePort();
  let child: Subprocess | null = null;
  const answers = async () => {
    const reply = spawnSync(["redis-cli", "-p", String(port), "ping"], { timeout: 1000 });
    return reply.stdout.toString().trim() === "PONG";
  };
  const server: RestartableServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child && child.exitCode === null) return server.thaw();
      child = spawn(
        [binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdout: "ignore", stderr: "ignore" },
      );
      await waitUntil(`redis-server on ${port}`, answers);
    },
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      running.kill("SIGKILL");
      await running.exited;
    },
    freeze: () => signalTree(child, "SIGSTOP"),
    thaw: () => signalTree(child, "SIGCONT"),
    destroy: () => server.stop(),
  };
  await server.start();
  return server;
}

/**
 * A PostgreSQL cluster of its own (initdb into a temporary folder, as the postgres user under root) on a
 * fixed free port; `stop` is a fast shutdown (SIGINT: sessions are terminated, as `pg_ctl stop` does).
 */
export async function restartablePostgres(): Promise<RestartableServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "vf-pg-outage-"));
  initThrowawayCluster(bin, dir);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: Subprocess | null = null;
  const answers = async () => {
    const sql = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  const server: RestartableServer = {
    url,
    async start() {
      if (child && child.exitCode === null) return server.thaw();
      child = spawn(postgresServerCommand(bin, dir, port), { stdout: "ignore", stderr: "ignore" });
      await waitUntil(`PostgreSQL on ${port}`, answers);
    },
    async stop() {
      server.thaw(); // a frozen server would never get to its shutdown
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      running.kill("SIGINT");
      await running.exited;
    },
    freeze: () => signalTree(child, "SIGSTOP"),
    thaw: () => signalTree(child, "SIGCONT"),
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
