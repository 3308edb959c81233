// The chaos suite's own PostgreSQL and Redis: throwaway servers it can kill and start again on the same
// port and data directory, which the shared test servers (dev/services.ts) must never be.
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import postgres from "postgres";
import { redisAnswers, waitUntil } from "../../dev/probes.ts";
import { asServiceUser, freePort, postgresBinDir } from "../../dev/services.ts";

/** A server process the suite starts, kills and restarts; the same address across restarts. */
export interface FaultableServer {
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no final write (a crash, an OOM kill). */
  kill9(): Promise<void>;
  /** The server's own orderly stop (PostgreSQL: fast shutdown; Redis: SHUTDOWN semantics on SIGTERM). */
  stop(): Promise<void>;
}

abstract class ServerProcess implements FaultableServer {
  private process: Subprocess | null = null;
  abstract readonly url: string;
  protected abstract command(): string[];
  protected abstract answers(): Promise<boolean>;
  protected abstract readonly name: string;

  get running(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(this.command(), { stdout: "ignore", stderr: "ignore" });
    this.process = child;
    await waitUntil(this.name, () => this.answers().catch(() => false), {
      timeoutMs: 30_000,
      giveUp: () => (child.exitCode !== null ? `exited with status ${child.exitCode}` : null),
    });
  }

  async kill9(): Promise<void> {
    await this.signal("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.signal(this.stopSignal);
  }

  protected readonly stopSignal: NodeJS.Signals = "SIGTERM";

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    child.kill(signal);
    await child.exited;
  }
}

/** PostgreSQL in a data directory of the suite's scratch folder, owned by `postgres` when run as root. */
export class ChaosPostgres extends ServerProcess {
  readonly url: string;
  protected readonly name = "chaos PostgreSQL";
  // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the server exits at once.
  protected override readonly stopSignal = "SIGINT";
  private readonly bin = postgresBinDir();
  private readonly data: string;

  private constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {
    super();
    this.data = join(dir, "data");
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async create(scratch: string): Promise<ChaosPostgres> {
    const dir = join(scratch, "postgres");
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() === 0) {
      // The server runs as `postgres`, which must be able to reach its directory inside the scratch.
      chmodSync(scratch, 0o755);
      const uid = Number(spawnSync(["id", "-u", "postgres"]).stdout.toString());
      const gid = Number(spawnSync(["id", "-g", "postgres"]).stdout.toString());
      chownSync(dir, uid, gid);
    }
    const server = new ChaosPostgres(dir, await freePort());
    const init = spawnSync(
      asServiceUser([
        join(server.bin, "initdb"),
        "-D",
        server.data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
      ]),
    );
    if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
    return server;
  }

  protected command(): string[] {
    return asServiceUser([
      join(this.bin, "postgres"),
      "-D",
      this.data,
      "-p",
      String(this.port),
      "-k",
      this.dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "full_page_writes=off",
    ]);
  }

  protected async answers(): Promise<boolean> {
    const sql = postgres(this.url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  /** A database of its own for the api, on this server. */
  async createDatabase(name: string): Promise<string> {
    const sql = postgres(this.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`create database "${name}"`);
    } finally {
      await sql.end();
    }
    const url = new URL(this.url);
    url.pathname = `/${name}`;
    return url.toString();
  }
}

/**
 * Redis as compose runs it (append-only, noeviction): what a client was told is written survives a
 * SIGKILL of the server, since Redis writes the append-only file before it answers.
 */
export class ChaosRedis extends ServerProcess {
  readonly url: string;
  protected readonly name = "chaos Redis";
  private readonly binary: string;

  private constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {
    super();
    this.url = `redis://127.0.0.1:${port}`;
    const binary = Bun.which("redis-server");
    if (!binary) throw new Error("redis-server not found (bash infra/setup.sh test installs it)");
    this.binary = binary;
  }

  static async create(scratch: string): Promise<ChaosRedis> {
    const dir = join(scratch, "redis");
    mkdirSync(dir, { recursive: true });
    return new ChaosRedis(dir, await freePort());
  }

  protected command(): string[] {
    return [
      this.binary,
      "--bind",
      "127.0.0.1",
      "--port",
      String(this.port),
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ];
  }

  protected answers(): Promise<boolean> {
    return redisAnswers("127.0.0.1", this.port);
  }
}
