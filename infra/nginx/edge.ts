// Runs the edge (edge.conf.template) on the machine's nginx outside containers: for `npm run up`, the
// tests and `bench:segments`. The compose stack renders the same template in the official nginx image
// (render-edge.sh). As a CLI: `bun infra/nginx/edge.ts` with EDGE_PORT, API_UPSTREAM, MEDIA_ROOT,
// MEDIA_TOKEN_SECRET, MEDIA_TOKEN_TTL and CORS_ORIGINS in the environment; stops on SIGTERM/SIGINT.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Subprocess, spawn } from "bun";
import { parseDurationSeconds } from "../../config/duration.ts";

const HERE = import.meta.dir;
const SECRET_SHAPE = /^[A-Za-z0-9_-]{32,256}$/;

export interface EdgeOptions {
  port: number;
  /** host:port of the api. */
  apiUpstream: string;
  mediaRoot: string;
  /** The api's MEDIA_TOKEN_SECRET (config.mediaTokenSecret). */
  mediaTokenSecret: string;
  /** How long a shared cache may keep a token URL: the api's MEDIA_TOKEN_TTL. */
  sharedMaxAgeSeconds: number;
  corsOrigins: readonly string[];
  /** worker_processes; 1 by default (benchmarks compare one nginx worker with one api process). */
  workers?: number | "auto";
  /** Access log to stderr as JSON lines (off by default: tests and benchmarks don't want it). */
  accessLog?: boolean;
}

export interface RunningEdge {
  url: string;
  stop(): Promise<void>;
}

export function nginxBinary(): string | null {
  return Bun.which("nginx") ?? (existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
}

/** envsubst for the `${NAME}` placeholders the template declares (nginx's own `$vars` are untouched). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

function mainConfig(work: string, options: EdgeOptions): string {
  // Root's workers would run as nobody, who cannot read media under a private temporary folder.
  const asRoot = process.getuid?.() === 0;
  return `${asRoot ? "user root;" : ""}
worker_processes ${options.workers ?? 1};
daemon off;
master_process on;
pid ${work}/nginx.pid;
error_log stderr warn;
events { worker_connections 16384; }
http {
  types { application/vnd.apple.mpegurl m3u8; }
  default_type application/octet-stream;
  ${options.accessLog ? `log_format json escape=json '{"time":"$time_iso8601","request_id":"$request_id","method":"$request_method","uri":"$uri","status":$status,"bytes":$body_bytes_sent,"duration_s":$request_time}';\n  access_log /dev/stderr json;` : "access_log off;"}
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  include ${work}/edge.conf;
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

export async function startEdge(options: EdgeOptions): Promise<RunningEdge> {
  const nginx = nginxBinary();
  if (!nginx) throw new Error("nginx is not installed (infra/setup.sh installs it)");
  if (!SECRET_SHAPE.test(options.mediaTokenSecret)) {
    throw new Error('the media token secret must be 32-256 letters, digits, "-" or "_"');
  }
  const work = mkdtempSync(join(tmpdir(), "vf-edge-"));
  for (const dir of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(work, dir));
  const template = readFileSync(join(HERE, "edge.conf.template"), "utf8");
  const corsMap = join(work, "cors-origins.map");
  writeFileSync(
    corsMap,
    options.corsOrigins.map((origin) => `${JSON.stringify(new URL(origin).origin)} $http_origin;\n`).join(""),
  );
  // The secret is in this file: readable by its owner only.
  writeFileSync(
    join(work, "edge.conf"),
    renderTemplate(template, {
      EDGE_LISTEN: `127.0.0.1:${options.port}`,
      API_UPSTREAM: options.apiUpstream,
      MEDIA_ROOT: resolve(options.mediaRoot),
      MEDIA_TOKEN_SECRET: options.mediaTokenSecret,
      EDGE_SHARED_MAX_AGE: String(options.sharedMaxAgeSeconds),
      EDGE_CORS_MAP: corsMap,
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(work, "nginx.conf"), mainConfig(work, options));
  const child = spawn([nginx, "-p", work, "-c", join(work, "nginx.conf")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  try {
    await waitForPort(options.port, child);
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${options.port}`,
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

if (import.meta.main) {
  const env = process.env;
  const secret = env.MEDIA_TOKEN_SECRET ?? "";
  if (!SECRET_SHAPE.test(secret)) {
    console.error('MEDIA_TOKEN_SECRET (the api\'s; 32-256 letters, digits, "-" or "_") is required');
    process.exit(78);
  }
  const edge = await startEdge({
    port: Number(env.EDGE_PORT ?? 8080),
    apiUpstream: env.API_UPSTREAM ?? "127.0.0.1:3000",
    mediaRoot: env.MEDIA_ROOT ?? "./var/media",
    mediaTokenSecret: secret,
    // The api's MEDIA_TOKEN_TTL (same syntax and default).
    sharedMaxAgeSeconds: parseDurationSeconds(env.MEDIA_TOKEN_TTL ?? "6h") ?? 21_600,
    corsOrigins: (env.CORS_ORIGINS ?? "").split(",").filter(Boolean),
    workers: "auto",
    accessLog: env.EDGE_ACCESS_LOG === "1",
  });
  console.log(`edge listening on ${edge.url}, api at ${env.API_UPSTREAM ?? "127.0.0.1:3000"}`);
  const stop = async () => {
    await edge.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
