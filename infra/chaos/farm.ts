// The system under chaos: the real api (`bun api/main.ts`) and transcoders (`bun transcoder/main.ts`)
// as separate processes on the suite's own PostgreSQL, Redis and small media volume, each with a log
// file. Every exit the suite did not ask for is recorded: "the api never exited on its own".
import { join } from "node:path";
import { type ChildSpec, SupervisedChild } from "../../dev/child.ts";
import { type LineSink, logFiles } from "../../dev/output.ts";
import { httpOk, waitUntil } from "../../dev/probes.ts";
import { freePort } from "../../dev/services.ts";
import { REPO_ROOT } from "../../dev/stack.ts";

export const ADMIN = { email: "chaos-admin@videoflix.test", password: "Chaos-passphrase-0042" } as const;

/** How long a transcoder's job lock lives: the Redis outage of the lock scenario outlasts it. */
export const LOCK_SECONDS = 3;

export interface FarmSpec {
  scratch: string;
  /** A log file per child: api.log, transcoder-1.log, … */
  logDir: string;
  databaseUrl: string;
  redisUrl: string;
  mediaRoot: string;
}

export class ChaosFarm {
  readonly apiUrl: string;
  readonly logDir: string;
  /** Exits nobody asked for, as "<child> exited with status <n>". */
  readonly unexpectedExits: string[] = [];
  private api: SupervisedChild | null = null;
  private readonly transcoders = new Map<string, SupervisedChild>();
  private readonly expected = new Set<SupervisedChild>();
  private readonly sink: LineSink;
  private transcoderCount = 0;

  private constructor(
    private readonly spec: FarmSpec,
    private readonly apiPort: number,
  ) {
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.logDir = spec.logDir;
    this.sink = logFiles(this.logDir);
  }

  static async create(spec: FarmSpec): Promise<ChaosFarm> {
    return new ChaosFarm(spec, await freePort());
  }

  get mediaRoot(): string {
    return this.spec.mediaRoot;
  }

  private launch(spec: ChildSpec): SupervisedChild {
    const child = new SupervisedChild(spec, this.sink);
    void child.exited.then((code) => {
      if (!this.expected.has(child)) this.unexpectedExits.push(`${child.name} exited with status ${code}`);
    });
    return child;
  }

  private baseEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      REDIS_URL: this.spec.redisUrl,
      MEDIA_ROOT: this.spec.mediaRoot,
      LOG_LEVEL: "info",
      // The periodic sweeps of the api and every transcoder (what dead processes left): every 2 s, and
      // staging untouched for 5 s counts as abandoned, so that a run sees them within its wait.
      STORAGE_SWEEP_INTERVAL_SECONDS: "2",
      STAGING_MAX_IDLE_SECONDS: "5",
    };
  }

  /** Starts the api (same port every time) and waits for its /ready. */
  async startApi(): Promise<void> {
    if (this.api?.running) return;
    const api = this.launch({
      name: "api",
      command: [process.execPath, "api/main.ts"],
      cwd: REPO_ROOT,
      env: {
        ...this.baseEnv(),
        NODE_ENV: "development",
        HOST: "127.0.0.1",
        PORT: String(this.apiPort),
        DATABASE_URL: this.spec.databaseUrl,
        JWT_SECRET: "chaos-secret-that-is-long-enough-for-hs256-0123456789",
        MAIL_DIR: join(this.spec.scratch, "mail"),
        FRONTEND_URL: "http://frontend.test",
        CORS_ORIGINS: "http://frontend.test",
        TRUST_PROXY: "true",
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        // Every attempt is the last: what a lapsed lock does to a job (a second attempt discarding the
        // first's work) then shows as a lost video instead of being papered over by a retry.
        TRANSCODE_ATTEMPTS: "1",
        TRANSCODE_BACKOFF_SECONDS: "1",
        RECONCILE_INTERVAL_SECONDS: "2",
        PROGRESS_FLUSH_INTERVAL_SECONDS: "2",
      },
    });
    this.api = api;
    await waitUntil("the api (/ready)", () => httpOk(`${this.apiUrl}/ready`), {
      timeoutMs: 60_000,
      giveUp: () => (api.running ? null : "the api exited"),
    });
  }

  /** kill -9 of the api, as a crash or the OOM killer would. */
  async killApi(): Promise<void> {
    const api = this.api;
    if (!api) return;
    this.expected.add(api);
    process.kill(api.pid, "SIGKILL");
    await api.exited;
    this.api = null;
  }

  get apiRunning(): boolean {
    return this.api?.running ?? false;
  }

  startTranscoder(): string {
    const name = `transcoder-${++this.transcoderCount}`;
    const child = this.launch({
      name,
      command: [process.execPath, "transcoder/main.ts"],
      cwd: REPO_ROOT,
      env: {
        ...this.baseEnv(),
        TRANSCODER_NAME: name,
        TRANSCODER_PRESET: "ultrafast",
        TRANSCODER_LADDER: "360",
        HLS_SEGMENT_SECONDS: "2",
        TRANSCODER_STALLED_INTERVAL_SECONDS: String(LOCK_SECONDS),
        TRANSCODER_SHUTDOWN_GRACE_SECONDS: "2",
        TRANSCODER_METRICS_PORT: "0",
        // A worker takes jobs only with this much space free: a few MiB of the small volume, so that
        // only the filled volume stops it.
        TRANSCODER_MIN_FREE_MB: "8",
        // A worker waiting for space looks every second, so recovery is measured, not the poll.
        TRANSCODER_SPACE_POLL_SECONDS: "1",
      },
    });
    this.transcoders.set(name, child);
    return name;
  }

  /** The name of the transcoder with this pid (the parent of a job's FFmpeg). */
  transcoderOf(pid: number): string | null {
    for (const [name, child] of this.transcoders) if (child.running && child.pid === pid) return name;
    return null;
  }

  async killTranscoder(name: string): Promise<void> {
    const child = this.transcoders.get(name);
    if (!child) return;
    this.expected.add(child);
    process.kill(child.pid, "SIGKILL");
    await child.exited;
    this.transcoders.delete(name);
  }

  runningTranscoders(): string[] {
    return [...this.transcoders].filter(([, child]) => child.running).map(([name]) => name);
  }

  /** Stops everything in order (transcoders hand their jobs back, then the api), as `npm run up` does. */
  async stop(): Promise<void> {
    const children = [...this.transcoders.values()];
    for (const child of children) this.expected.add(child);
    await Promise.all(children.map((child) => child.stop(5000)));
    if (this.api) {
      this.expected.add(this.api);
      await this.api.stop(5000);
    }
    await this.sink.close();
  }
}
