// `bun load-tests/stack.ts <dir>`: a throwaway Videoflix stack for load tests on this machine, run by
// the local-stack supervisor (dev/stack.ts). PostgreSQL the way the test suite starts it
// (dev/services.ts) and a throwaway Redis on a free port (DATABASE_URL / REDIS_URL use existing
// servers instead), the api (`bun api/main.ts`) on a free port and one transcoder
// (`bun transcoder/main.ts`), and writes <dir>/stack.json and <dir>/stack.env (BASE_URL, admin
// credentials, MAIL_DIR) once the api is ready. Logs go to <dir>/api.log and <dir>/transcoder.log.
// Runs until SIGTERM/SIGINT (or until a child dies: exit 1), then stops everything and removes its data.
//
// Settings of the children can be overridden from the environment: RATE_LIMIT_*, HLS_SEGMENT_SECONDS,
// TRANSCODER_LADDER, TRANSCODER_PRESET, LOG_LEVEL, …. LOADTEST_EDGE=1 also starts the nginx edge
// (infra/nginx/edge.ts) in front of the api, and BASE_URL is then the edge's address.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { logFiles } from "../dev/output.ts";
import { createTestDatabase, freePort, stopTestServices } from "../dev/services.ts";
import { type Stack, type StackEnd, startStack } from "../dev/stack.ts";

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

let dropDatabase: (() => Promise<void>) | undefined;
let scratch: string | undefined;
const stopping = new AbortController();

/** Stops the stack (if it got that far) and removes its data; exits 1 unless asked to stop. */
async function finish(end: StackEnd, stack?: Stack): Promise<never> {
  if (stack) await stack.stop();
  await dropDatabase?.().catch(() => {});
  await stopTestServices();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (end.reason === "failed-to-start") log(`failed: ${end.error.message}`);
  log("stopped");
  process.exit(end.reason === "requested" ? 0 : 1);
}

async function main() {
  process.on("SIGTERM", () => stopping.abort());
  process.on("SIGINT", () => stopping.abort());
  mkdirSync(outDir, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), "vf-loadtest-"));
  // Searchable by other accounts: the edge's workers (nobody under a root run) send the media in it.
  chmodSync(scratch, 0o711);
  const [databaseUrl, port, redisPort, transcoderHealthPort] = await Promise.all([
    process.env.DATABASE_URL ??
      createTestDatabase().then((db) => {
        dropDatabase = db.drop;
        return db.url;
      }),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const edgePort = process.env.LOADTEST_EDGE === "1" ? await freePort() : null;
  const apiUrl = `http://127.0.0.1:${port}`;
  const baseUrl = edgePort ? `http://127.0.0.1:${edgePort}` : apiUrl;
  const mediaTokenSecret = randomBytes(36).toString("base64url");
  const admin = { email: "admin@loadtest.example.com", password: randomBytes(18).toString("base64url") };
  const mediaRoot = join(scratch, "media");
  const mailDir = join(scratch, "mail");

  const stack = await startStack({
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      MEDIA_ROOT: mediaRoot,
    },
    redis: process.env.REDIS_URL
      ? { url: process.env.REDIS_URL, startIfMissing: false }
      : { url: `redis://127.0.0.1:${redisPort}`, startIfMissing: true },
    api: {
      port,
      env: {
        NODE_ENV: "development",
        PUBLIC_URL: baseUrl,
        DATABASE_URL: databaseUrl,
        JWT_SECRET: randomBytes(36).toString("base64url"),
        MEDIA_TOKEN_SECRET: mediaTokenSecret,
        // Behind the edge the api sees clients through its X-Forwarded-For ($remote_addr).
        ...(edgePort ? { TRUST_PROXY: "true" } : {}),
        MAIL_DIR: mailDir,
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: overridable("LOG_LEVEL")!,
        ...Object.fromEntries(
          Object.keys(LOAD_TEST_DEFAULTS)
            .filter((name) => name.startsWith("RATE_LIMIT_"))
            .map((name) => [name, overridable(name)!]),
        ),
        ...passThrough("RATE_LIMIT_"),
      },
    },
    transcoders: [
      {
        name: "transcoder",
        healthPort: transcoderHealthPort,
        env: {
          TRANSCODER_NAME: "loadtest-1",
          HLS_SEGMENT_SECONDS: overridable("HLS_SEGMENT_SECONDS")!,
          TRANSCODER_LADDER: overridable("TRANSCODER_LADDER")!,
          TRANSCODER_PRESET: overridable("TRANSCODER_PRESET")!,
          TRANSCODER_SHUTDOWN_GRACE_SECONDS: "2",
          // A few lines per job: worth having when a transcode fails (the api logs a line per request).
          LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
          ...passThrough("TRANSCODER_"),
        },
      },
    ],
    edge: edgePort ? { port: edgePort, env: { MEDIA_TOKEN_SECRET: mediaTokenSecret } } : null,
    sink: logFiles(outDir),
    log,
    stopGraceMs: 15_000,
    signal: stopping.signal,
  });

  const state = {
    base_url: baseUrl,
    api_url: apiUrl,
    admin_email: admin.email,
    admin_password: admin.password,
    mail_dir: mailDir,
    media_root: mediaRoot,
    database_url: databaseUrl,
    redis_url: stack.redisUrl,
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
  await finish(await stack.ended, stack);
}

await main().catch((error: Error) =>
  finish(stopping.signal.aborted ? { reason: "requested" } : { reason: "failed-to-start", error }),
);
