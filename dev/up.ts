// `npm run up` after infra/up.sh has installed what was missing and settled the secrets: prints where
// everything is, then runs the local stack (dev/stack.ts): Redis when REDIS_URL is unset and none
// answers on 127.0.0.1:6379, the api on API_PORT, TRANSCODERS workers (default 1) and the edge on PORT,
// until Ctrl-C / SIGTERM or until one of them dies.
//
// --admin-password-file=FILE: the admin password came from FILE (up.sh keeps it under ./var), which is
// what the summary says instead of "from the environment".
// --s3 (or LOCAL_S3=1): the media go to a local SeaweedFS (dev/seaweedfs.ts), see localS3() below.
// EDGE_TLS_CERT + EDGE_TLS_KEY (up.sh sets them for --tls): the edge serves HTTPS on EDGE_TLS_PORT
// (3443), PORT redirects there, and PUBLIC_URL defaults to https://localhost:<EDGE_TLS_PORT>, which
// makes the api's cookies Secure.
// As root, the api, the transcoders and a Redis or SeaweedFS started here run as TRANSCODER_USER (default videoflix,
// which up.sh creates; nobody without it), never as root: dev/service-account.ts.
import { join } from "node:path";
import { prefixedConsole } from "./output.ts";
import { portOpen } from "./probes.ts";
import { generateS3Keys } from "./seaweedfs.ts";
import { chooseServiceAccount, type ServiceAccountChoice } from "./service-account.ts";
import { freePort } from "./services.ts";
import { type LocalS3Spec, REPO_ROOT, type StackEnd, startStack, type TranscoderSpec } from "./stack.ts";

const env = process.env;
const step = (message: string) => console.log(`==> ${message}`);
const note = (message: string) => console.log(`    ${message}`);
function die(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

function integerSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) die(`${name} must be an integer ${min}-${max}`);
  return value;
}

const passwordFile = process.argv
  .find((arg) => arg.startsWith("--admin-password-file="))
  ?.slice("--admin-password-file=".length);
// The edge answers on PORT (what a browser or player talks to); the api listens behind it on API_PORT.
const port = integerSetting("PORT", 3000, 1, 65535);
const apiPort = integerSetting("API_PORT", port + 1, 1, 65535);
const transcoderCount = integerSetting("TRANSCODERS", 1, 1, 64);
if (await portOpen("127.0.0.1", port)) die(`port ${port} is taken; set PORT to a free one`);
if (await portOpen("127.0.0.1", apiPort)) {
  die(`port ${apiPort} (the api, behind the edge) is taken; set API_PORT`);
}
const tlsPort = env.EDGE_TLS_CERT ? integerSetting("EDGE_TLS_PORT", 3443, 1, 65535) : null;
if (tlsPort !== null && (await portOpen("127.0.0.1", tlsPort))) {
  die(`port ${tlsPort} (the edge's HTTPS) is taken; set EDGE_TLS_PORT`);
}
const base = (
  env.PUBLIC_URL ?? (tlsPort ? `https://localhost:${tlsPort}` : `http://localhost:${port}`)
).replace(/\/$/, "");
const s3 = await localS3();
const accounts = serviceAccounts();

function serviceAccounts(): ServiceAccountChoice {
  try {
    return chooseServiceAccount(env.TRANSCODER_USER, undefined, env.EDGE_USER);
  } catch (error) {
    die(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The local SeaweedFS of --s3 / LOCAL_S3=1: data in LOCAL_S3_DIR (./var/seaweedfs), bucket videoflix, S3
 * on LOCAL_S3_PORT (8333, or a free port when taken), the keys up.sh keeps under ./var
 * (LOCAL_S3_ACCESS_KEY_ID / LOCAL_S3_SECRET_ACCESS_KEY; fresh ones for this run without them).
 */
async function localS3(): Promise<LocalS3Spec | null> {
  if (!process.argv.includes("--s3") && env.LOCAL_S3 !== "1") return null;
  if (env.STORAGE_URL)
    die("--s3 (LOCAL_S3=1) starts a local SeaweedFS: unset STORAGE_URL, or drop --s3 to use it");
  let s3Port = integerSetting("LOCAL_S3_PORT", 8333, 1, 65535);
  if (await portOpen("127.0.0.1", s3Port)) {
    const taken = s3Port;
    s3Port = await freePort();
    note(`SeaweedFS: port ${taken} is taken; its S3 gateway is on 127.0.0.1:${s3Port}`);
  }
  const { LOCAL_S3_ACCESS_KEY_ID: accessKeyId, LOCAL_S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    dataDir: env.LOCAL_S3_DIR || join(REPO_ROOT, "var/seaweedfs"),
    bucket: "videoflix",
    port: s3Port,
    ...(accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : generateS3Keys()),
  };
}

function storageSummary(): string {
  if (s3)
    return `SeaweedFS (S3) at http://127.0.0.1:${s3.port}, STORAGE_URL=s3://${s3.bucket}, data in ${shown(s3.dataDir)}`;
  if (env.STORAGE_URL?.startsWith("s3://"))
    return `${env.STORAGE_URL} at ${env.S3_ENDPOINT ?? "S3_ENDPOINT (unset)"}`;
  return `local files in ${env.MEDIA_ROOT ?? "./var/media"}`;
}

/** ./var/seaweedfs rather than the absolute path, when it is in the repository. */
function shown(dir: string): string {
  return dir.startsWith(REPO_ROOT) ? `./${dir.slice(REPO_ROOT.length).replace(/^\//, "")}` : dir;
}

// Each worker's /metrics and /health: TRANSCODER_METRICS_PORT (9464) and up, or a free port when that
// one is taken (another worker started by hand, say); 0 runs them without it, as the worker allows.
async function transcoderSpecs(): Promise<TranscoderSpec[]> {
  const first = integerSetting("TRANSCODER_METRICS_PORT", 9464, 0, 65535);
  const specs: TranscoderSpec[] = [];
  for (let i = 1; i <= transcoderCount; i++) {
    const name = transcoderCount === 1 ? "transcoder" : `transcoder-${i}`;
    let healthPort: number | null = first === 0 ? null : first + i - 1;
    if (healthPort !== null && (await portOpen("127.0.0.1", healthPort))) {
      const taken = healthPort;
      healthPort = await freePort();
      note(`${name}: port ${taken} is taken; its /metrics and /health are on 127.0.0.1:${healthPort}`);
    }
    specs.push({ name, healthPort });
  }
  return specs;
}

const workers = transcoderCount === 1 ? "one worker" : `${transcoderCount} workers`;
step("Videoflix starting");
note(`API base:     ${base}/api/   (the edge, nginx; the api itself on 127.0.0.1:${apiPort})`);
if (tlsPort) {
  note(
    `HTTPS:        certificate ${shown(env.EDGE_TLS_CERT ?? "")}; http://localhost:${port}/ redirects to https, HSTS max-age ${env.EDGE_HSTS_MAX_AGE ?? "31536000"}`,
  );
  if (!base.startsWith("https://"))
    note("              (PUBLIC_URL is not https://: the api's cookies are not Secure)");
}
note(`studio:       ${base}/studio/   (the admin web app; sign in with the admin account below)`);
note(`OpenAPI UI:   ${base}/openapi   (JSON: ${base}/openapi/json)`);
note(`health:       ${base}/health    readiness: ${base}/ready`);
note(
  `mails:        ${env.SMTP_URL ? "sent through SMTP_URL" : `written as .eml files to ${env.MAIL_DIR ?? "./var/mail"} (links also logged)`}`,
);
note(
  `database:     ${env.DATABASE_URL ? "PostgreSQL at DATABASE_URL" : `embedded PGlite in ${env.PGLITE_DIR ?? "./var/pglite"}`}`,
);
note(
  `admin:        ${env.ADMIN_EMAIL}, ${passwordFile ? `password in ${passwordFile} (set when the account was first created)` : "ADMIN_PASSWORD from the environment"}`,
);
note(`uploads:      POST ${base}/api/admin/videos (admin), queues at ${base}/admin/queues`);
note(`transcoder:   ${workers} (TRANSCODER_HWACCEL=${env.TRANSCODER_HWACCEL ?? "none"})`);
note(`media:        ${storageSummary()}`);
note(
  `accounts:     ${accounts.account ? `the api, the transcoders and a Redis or SeaweedFS started here as ${accounts.summary}; the edge's nginx master as root, its workers as ${env.EDGE_USER || "nobody"}` : accounts.summary}`,
);
if (s3 && !env.LOCAL_S3_ACCESS_KEY_ID)
  note("              (S3 keys made for this run only: npm run up keeps them in ./var)");
note("stop with Ctrl-C (or SIGTERM)");

const startedAt = performance.now();
const sink = prefixedConsole();
// Signals count from the first moment: the children run in sessions of their own, so a Ctrl-C that
// ended only this process would leave them running.
const stopping = new AbortController();
const requestStop = (why: string) => {
  if (stopping.signal.aborted) return;
  step(why);
  stopping.abort();
};
process.on("SIGINT", () => requestStop("signal received: shutting down"));
process.on("SIGTERM", () => requestStop("signal received: shutting down"));
watchLaunchers(() => requestStop("npm is gone: shutting down"));

async function finish(end: StackEnd): Promise<never> {
  await sink.close();
  if (end.reason === "requested") {
    step("stopped");
    process.exit(0);
  }
  if (end.reason === "failed-to-start") console.error(`error: ${end.error.message}`);
  // A stack that fell over is a failure, whatever status the child that died had.
  process.exit(end.reason === "child-exited" && end.code !== 0 ? end.code : 1);
}

try {
  const stack = await startStack({
    env: { ...env, PUBLIC_URL: base },
    redis: env.REDIS_URL
      ? { url: env.REDIS_URL, startIfMissing: false }
      : { url: "redis://127.0.0.1:6379", startIfMissing: true, dataDir: join(REPO_ROOT, "var/redis") },
    // It sees the clients' addresses through the edge's X-Forwarded-For.
    api: { port: apiPort, env: { TRUST_PROXY: "true" } },
    transcoders: await transcoderSpecs(),
    edge: { port, tlsPort },
    s3,
    serviceAccount: accounts.account,
    sink,
    log: step,
    signal: stopping.signal,
  });
  step(`ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${base}/`);
  await finish(await stack.ended);
} catch (error) {
  await finish(
    stopping.signal.aborted
      ? { reason: "requested" }
      : { reason: "failed-to-start", error: error instanceof Error ? error : new Error(String(error)) },
  );
}

/**
 * Under `npm run up`, a SIGTERM to npm may end npm and its `sh -c` without reaching us: watch them
 * (our parent, and its parent unless that is init) and stop when they are gone.
 */
function watchLaunchers(onGone: () => void): void {
  if (!env.npm_lifecycle_event) return;
  const launchers = [process.ppid];
  const stat = Bun.file(`/proc/${process.ppid}/stat`);
  void stat
    .text()
    .then((text) => {
      // Field 4 is the parent's pid; the command name (field 2) may hold spaces, so count from its ")".
      const grandparent = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
      if (grandparent > 1) launchers.push(grandparent);
    })
    .catch(() => {});
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  setInterval(() => {
    if (!launchers.every(alive)) onGone();
  }, 1000);
}
