// Runs the edge (edge.conf.template and its parts) on the machine's nginx outside containers: for `npm
// run up`, the tests and `bench:segments`. The compose stack renders the same templates in the official
// nginx image (render-edge.sh). As a CLI: `bun infra/nginx/edge.ts` with EDGE_PORT, API_UPSTREAM
// (host:port, comma-separated for several api replicas), MEDIA_ROOT and the api's own settings
// (MEDIA_TOKEN_SECRET, MEDIA_TOKEN_TTL, PUBLIC_URL, CORS_ORIGINS: read with the api's config loader, so
// the edge grants CORS to exactly the origins the api allows) in the environment; HTTPS with
// EDGE_TLS_CERT and EDGE_TLS_KEY on EDGE_TLS_PORT (EDGE_HSTS_MAX_AGE, EDGE_RESOLVER, EDGE_USER,
// EDGE_ACME_ROOT optional); stops on SIGTERM/SIGINT.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import { ConfigError, loadConfig } from "../../api/config/load.ts";
import { apiServers, type EdgeTlsOptions, renderEdgeSite } from "./render.ts";
import { type WorkerAccount, workerAccount, workerCannotReach } from "./worker-user.ts";

export type { EdgeTlsOptions } from "./render.ts";

const SECRET_SHAPE = /^[A-Za-z0-9_-]{32,256}$/;

export interface EdgeOptions {
  port: number;
  /** host:port of the api, or of each api replica (the edge sends requests to them in turn). */
  apiUpstream: string | readonly string[];
  mediaRoot: string;
  /** The api's MEDIA_TOKEN_SECRET (config.mediaTokenSecret). */
  mediaTokenSecret: string;
  /** How long a shared cache may keep a token URL: the api's MEDIA_TOKEN_TTL. */
  sharedMaxAgeSeconds: number;
  corsOrigins: readonly string[];
  /** HTTPS on tls.port; the plain port then answers ACME challenges and redirects everything else. */
  tls?: EdgeTlsOptions | null;
  /** The ACME webroot (default: an empty folder of this edge's own). */
  acmeRoot?: string;
  /** The workers' account when started as root (default nobody); otherwise they run as the caller. */
  workerUser?: string;
  /** worker_processes; 1 by default (benchmarks compare one nginx worker with one api process). */
  workers?: number | "auto";
  /** Access log to stderr as JSON lines (off by default: tests and benchmarks don't want it). */
  accessLog?: boolean;
}

export interface RunningEdge {
  /** The plain-HTTP address (with TLS it only redirects and answers ACME challenges). */
  url: string;
  /** The HTTPS address, null without TLS. */
  httpsUrl: string | null;
  /** The nginx master's pid (its workers are its children). */
  pid: number;
  stop(): Promise<void>;
}

export function nginxBinary(): string | null {
  return Bun.which("nginx") ?? (existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
}

/** "1.22.1", from `nginx -v` (which prints to stderr). */
export function nginxVersion(nginx: string): string {
  const result = spawnSync([nginx, "-v"], { stdout: "pipe", stderr: "pipe" });
  const text = `${result.stderr.toString()}${result.stdout.toString()}`;
  const version = /nginx\/(\d+\.\d+\.\d+)/.exec(text)?.[1];
  if (!version) throw new Error(`cannot tell nginx's version from "${text.trim()}"`);
  return version;
}

function mainConfig(work: string, included: string[], options: EdgeOptions, worker: WorkerAccount | null) {
  return `${worker ? `user ${worker.user} ${worker.group};` : ""}
worker_processes ${options.workers ?? 1};
daemon off;
master_process on;
pid ${work}/nginx.pid;
error_log stderr warn;
events { worker_connections 16384; }
http {
  types { application/vnd.apple.mpegurl m3u8; }
  default_type application/octet-stream;
  # Each server names its own access log (edge.conf.template); nothing is logged outside them.
  access_log off;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
${included.map((file) => `  include ${file};`).join("\n")}
}
`;
}

function waitForPort(port: number, child: Subprocess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePort, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited with ${child.exitCode}`));
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolvePort();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`nginx did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** As root, the unprivileged account the workers run as, once it is sure they can reach the media. */
function workerFor(options: EdgeOptions): WorkerAccount | null {
  if (process.getuid?.() !== 0) return null;
  const account = workerAccount(options.workerUser ?? "nobody");
  const folders = { "media root": options.mediaRoot, "ACME webroot": options.acmeRoot };
  for (const [what, folder] of Object.entries(folders)) {
    const blocked = folder === undefined ? null : workerCannotReach(folder, account);
    if (blocked) {
      throw new Error(
        `the edge's workers run as ${account.user} and cannot reach the ${what} ${resolve(folder!)}: ` +
          `${blocked} is not searchable for them (chmod o+x it, or set EDGE_USER to an account that may)`,
      );
    }
  }
  return account;
}

export async function startEdge(options: EdgeOptions): Promise<RunningEdge> {
  const nginx = nginxBinary();
  if (!nginx) throw new Error("nginx is not installed (infra/setup.sh installs it)");
  if (!SECRET_SHAPE.test(options.mediaTokenSecret)) {
    throw new Error('the media token secret must be 32-256 letters, digits, "-" or "_"');
  }
  // Refused before anything is made: a bad address would otherwise leave the work folder behind.
  apiServers(options.apiUpstream);
  const worker = workerFor(options);
  const work = mkdtempSync(join(tmpdir(), "vf-edge-"));
  // The workers (another account as root) reach their temporary folders in here, not the rest.
  chmodSync(work, 0o711);
  for (const dir of ["body", "proxy", "fastcgi", "uwsgi", "scgi", "acme"]) mkdirSync(join(work, dir));
  const included = renderEdgeSite(work, {
    host: "127.0.0.1",
    port: options.port,
    apiUpstream: options.apiUpstream,
    mediaRoot: options.mediaRoot,
    mediaTokenSecret: options.mediaTokenSecret,
    sharedMaxAgeSeconds: options.sharedMaxAgeSeconds,
    corsOrigins: options.corsOrigins,
    acmeRoot: options.acmeRoot ?? join(work, "acme"),
    tls: options.tls ?? null,
    nginxVersion: nginxVersion(nginx),
    accessLog: options.accessLog ? "/dev/stderr" : null,
  });
  writeFileSync(join(work, "nginx.conf"), mainConfig(work, included, options, worker));
  const child = spawn([nginx, "-p", work, "-c", join(work, "nginx.conf")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  try {
    await waitForPort(options.port, child);
    if (options.tls) await waitForPort(options.tls.port, child);
  } catch (error) {
    child.kill("SIGKILL");
    await child.exited;
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${options.port}`,
    httpsUrl: options.tls ? `https://127.0.0.1:${options.tls.port}` : null,
    pid: child.pid,
    async stop() {
      // SIGQUIT: graceful (finish the responses in flight), like `nginx -s quit`.
      if (child.exitCode === null) child.kill("SIGQUIT");
      const stopped = await Promise.race([child.exited, Bun.sleep(5_000).then(() => null)]);
      if (stopped === null) child.kill("SIGKILL");
      await child.exited;
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function integerEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer ${min}-${max}, got "${raw}"`);
  }
  return value;
}

/** EDGE_TLS_CERT and EDGE_TLS_KEY (both or neither) and what goes with them. */
function tlsFromEnv(env: NodeJS.ProcessEnv): EdgeTlsOptions | null {
  const certFile = env.EDGE_TLS_CERT || undefined;
  const keyFile = env.EDGE_TLS_KEY || undefined;
  if (!certFile && !keyFile) return null;
  if (!certFile || !keyFile) throw new ConfigError("EDGE_TLS_CERT and EDGE_TLS_KEY must be set together");
  for (const file of [certFile, keyFile]) {
    if (!existsSync(file)) throw new ConfigError(`${file} (EDGE_TLS_CERT / EDGE_TLS_KEY) does not exist`);
  }
  return {
    port: integerEnv("EDGE_TLS_PORT", 8443, 1, 65535),
    certFile,
    keyFile,
    hstsMaxAgeSeconds: integerEnv("EDGE_HSTS_MAX_AGE", 31_536_000, 0, 2 ** 31 - 1),
    ...(env.EDGE_RESOLVER ? { resolver: env.EDGE_RESOLVER } : {}),
  };
}

if (import.meta.main) {
  const env = process.env;
  let edge: RunningEdge;
  try {
    if (!SECRET_SHAPE.test(env.MEDIA_TOKEN_SECRET ?? "")) {
      throw new ConfigError(
        'MEDIA_TOKEN_SECRET (the api\'s; 32-256 letters, digits, "-" or "_") is required',
      );
    }
    // The api's own reading of its settings: the same token lifetime and the same allowed origins.
    const api = loadConfig(env);
    edge = await startEdge({
      port: integerEnv("EDGE_PORT", 8080, 1, 65535),
      apiUpstream: env.API_UPSTREAM ?? "127.0.0.1:3000",
      mediaRoot: api.mediaRoot,
      mediaTokenSecret: api.mediaTokenSecret,
      sharedMaxAgeSeconds: api.mediaTokenTtlSeconds,
      corsOrigins: [...new Set([api.publicOrigin, ...api.corsOrigins])],
      tls: tlsFromEnv(env),
      ...(env.EDGE_ACME_ROOT ? { acmeRoot: env.EDGE_ACME_ROOT } : {}),
      ...(env.EDGE_USER ? { workerUser: env.EDGE_USER } : {}),
      workers: "auto",
      accessLog: env.EDGE_ACCESS_LOG === "1",
    });
  } catch (error) {
    console.error(`edge: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(78);
  }
  console.log(
    `edge listening on ${edge.httpsUrl ? `${edge.httpsUrl} (and ${edge.url}, which redirects there)` : edge.url}, api at ${env.API_UPSTREAM ?? "127.0.0.1:3000"}`,
  );
  const stop = async () => {
    await edge.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
