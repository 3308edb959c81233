// `bun load-tests/stack.ts <dir>`: a throwaway Videoflix stack for load tests on this machine. Starts
// PostgreSQL and Redis the way the test suite does (dev/services.ts; DATABASE_URL / REDIS_URL
// use existing servers instead), the api (`bun api/main.ts`) on a free port and one transcoder
// (`bun transcoder/main.ts`), and writes <dir>/stack.json and <dir>/stack.env (BASE_URL, admin
// credentials, MAIL_DIR) once the api is ready. Logs go to <dir>/api.log and <dir>/transcoder.log.
// Runs until SIGTERM/SIGINT (or until a child dies: exit 1), then stops everything and removes its data.
//
// Settings of the children can be overridden from the environment: RATE_LIMIT_*, HLS_SEGMENT_SECONDS,
// TRANSCODER_LADDER, TRANSCODER_PRESET, LOG_LEVEL, …. LOADTEST_EDGE=1 also starts the nginx edge
// (infra/nginx/edge.ts) in front of the api, and BASE_URL is then the edge's address.
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Subprocess, spawn } from "bun";
import { createTestDatabase, freePort, stopTestServices, testRedisUrl } from "../dev/services.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const outDir = resolve(process.argv[2] ?? "var/loadtest/stack");
const log = (message: string) => console.error(`stack: ${message}`);

/**
 * The load generator is one client address, so the per-address limits (built for one person's browser)
 * would refuse a few hundred simulated viewers: raised here, overridable from the environment.
 */
const LOAD_TEST_DEFAULTS: Record<string, string> = {
  RATE_LIMIT_LOGIN_IP: "100000/1m",
  RATE_LIMIT_LOGIN_ACCOUNT: "100000/1m",
  RATE_LIMIT_REFRESH_IP: "100000/1m",
  RATE_LIMIT_REFRESH_ACCOUNT: "100000/1m",
  RATE_LIMIT_REGISTER_IP: "10000/1h",
  HLS_SEGMENT_SECONDS: "2",
  TRANSCODER_LADDER: "240,360,480",
  TRANSCODER_PRESET: "ultrafast",
  LOG_LEVEL: "warn",
};
const overridable = (name: string) => process.env[name] ?? LOAD_TEST_DEFAULTS[name];
const passThrough = (prefix: string) =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith(prefix))) as Record<
    string,
    string
  >;

const children: Array<{ name: string; process: Subprocess }> = [];
let stopping = false;
let dropDatabase: (() => Promise<void>) | undefined;
let scratch: string | undefined;

function startChild(name: string, command: string[], env: Record<string, string>) {
  const logFile = createWriteStream(join(outDir, `${name}.log`));
  const child = spawn(command, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  for (const stream of [child.stdout, child.stderr]) {
    void (async () => {
      for await (const chunk of stream) logFile.write(chunk);
    })();
  }
  children.push({ name, process: child });
  void child.exited.then((code) => {
    if (stopping) return;
    log(`${name} exited unexpectedly (status ${code}); see ${join(outDir, `${name}.log`)}`);
    void stop(1);
  });
}

async function stop(status: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // The transcoder first (it hands an unfinished job back), then the api, then the data stores.
    for (const { name, process: child } of [...children].reverse()) {
      child.kill("SIGTERM");
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
      if (!exited) {
        log(`${name} did not stop within 15 s; killing it`);
        child.kill("SIGKILL");
        await child.exited;
      }
    }
    await dropDatabase?.().catch(() => {});
    await stopTestServices();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    log("stopped");
  }
  process.exit(status);
}

async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    const ok = await fetch(`${url}/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(200);
  }
  throw new Error(`the api did not become ready within ${timeoutMs / 1000} s; see ${outDir}/api.log`);
}

async function main() {
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGINT", () => void stop(0));
  mkdirSync(outDir, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), "vf-loadtest-"));
  const [databaseUrl, redisUrl, port] = await Promise.all([
    process.env.DATABASE_URL ??
      createTestDatabase().then((db) => {
        dropDatabase = db.drop;
        return db.url;
      }),
    process.env.REDIS_URL ?? testRedisUrl(),
    freePort(),
  ]);
  const edgePort = process.env.LOADTEST_EDGE === "1" ? await freePort() : null;
  const apiUrl = `http://127.0.0.1:${port}`;
  const baseUrl = edgePort ? `http://127.0.0.1:${edgePort}` : apiUrl;
  const mediaTokenSecret = randomBytes(36).toString("base64url");
  const admin = { email: "admin@loadtest.example.com", password: randomBytes(18).toString("base64url") };
  const mediaRoot = join(scratch, "media");
  const mailDir = join(scratch, "mail");
  const logLevel = overridable("LOG_LEVEL")!;

  startChild("api", [process.execPath, "api/main.ts"], {
    NODE_ENV: "development",
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: baseUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    JWT_SECRET: randomBytes(36).toString("base64url"),
    MEDIA_TOKEN_SECRET: mediaTokenSecret,
    // Behind the edge the api sees clients through its X-Forwarded-For ($remote_addr).
    ...(edgePort ? { TRUST_PROXY: "true" } : {}),
    MEDIA_ROOT: mediaRoot,
    MAIL_DIR: mailDir,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    LOG_LEVEL: logLevel,
    ...Object.fromEntries(
      Object.keys(LOAD_TEST_DEFAULTS)
        .filter((name) => name.startsWith("RATE_LIMIT_"))
        .map((name) => [name, overridable(name)!]),
    ),
    ...passThrough("RATE_LIMIT_"),
  });
  startChild("transcoder", [process.execPath, "transcoder/main.ts"], {
    REDIS_URL: redisUrl,
    MEDIA_ROOT: mediaRoot,
    TRANSCODER_NAME: "loadtest-1",
    HLS_SEGMENT_SECONDS: overridable("HLS_SEGMENT_SECONDS")!,
    TRANSCODER_LADDER: overridable("TRANSCODER_LADDER")!,
    TRANSCODER_PRESET: overridable("TRANSCODER_PRESET")!,
    TRANSCODER_SHUTDOWN_GRACE_SECONDS: "2",
    // A few lines per job: worth having when a transcode fails (the api logs a line per request).
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...passThrough("TRANSCODER_"),
  });
  if (edgePort) {
    startChild("edge", [process.execPath, "infra/nginx/edge.ts"], {
      EDGE_PORT: String(edgePort),
      API_UPSTREAM: `127.0.0.1:${port}`,
      MEDIA_ROOT: mediaRoot,
      MEDIA_TOKEN_SECRET: mediaTokenSecret,
    });
  }
  await waitReady(apiUrl);
  if (edgePort) await waitReady(baseUrl);

  const state = {
    base_url: baseUrl,
    api_url: apiUrl,
    admin_email: admin.email,
    admin_password: admin.password,
    mail_dir: mailDir,
    media_root: mediaRoot,
    database_url: databaseUrl,
    redis_url: redisUrl,
  };
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  const envFile = [
    `BASE_URL=${quote(baseUrl)}`,
    `ADMIN_EMAIL=${quote(admin.email)}`,
    `ADMIN_PASSWORD=${quote(admin.password)}`,
    `MAIL_DIR=${quote(mailDir)}`,
  ].join("\n");
  // stack.json last, renamed into place: its presence means "ready".
  writeFileSync(join(outDir, "stack.env"), `${envFile}\n`, { mode: 0o600 });
  writeFileSync(join(outDir, "stack.json.tmp"), JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(join(outDir, "stack.json.tmp"), join(outDir, "stack.json"));
  log(
    `ready: ${edgePort ? `edge ${baseUrl} → ` : ""}api ${apiUrl}, transcoder loadtest-1, logs in ${outDir}`,
  );
}

await main().catch(async (error: Error) => {
  log(`failed: ${error.message}`);
  await stop(1);
});
// Keeps running until a signal (or a dead child) stops it.
setInterval(() => {}, 1 << 30);
