// Real PostgreSQL, Redis and S3 for the test suite, the benchmarks and the local stacks: the servers
// named by TEST_DATABASE_URL / TEST_REDIS_URL / TEST_S3_ENDPOINT, or throwaway instances started here
// (and stopped when the process exits) when none is named.

import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import postgres from "postgres";
import { bucketClient, deleteBucket, type S3Credentials } from "./s3-buckets.ts";
import { type LocalS3, readyBucket, type S3Bucket, startSeaweedfs } from "./seaweedfs.ts";

const children: Subprocess[] = [];
const scratch: string[] = [];
let seaweedfs: Promise<LocalS3> | undefined;

/** Stops the throwaway servers; the test preload calls it once after the whole run. */
export async function stopTestServices(): Promise<void> {
  for (const child of children.splice(0)) {
    child.kill("SIGTERM");
    await Promise.race([child.exited, Bun.sleep(5000)]);
    child.kill("SIGKILL");
  }
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  const s3 = seaweedfs;
  seaweedfs = undefined;
  await s3?.then((server) => server.stop()).catch(() => {});
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Where initdb and postgres live: the newest Debian server package, else PATH. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, "bin");
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  const onPath = Bun.which("initdb");
  if (onPath) return onPath.replace(/\/initdb$/, "");
  throw new Error(
    "PostgreSQL server binaries (initdb) not found: install postgresql or set TEST_DATABASE_URL",
  );
}

/**
 * PostgreSQL refuses to run as root, so a root test run starts it as the `postgres` user. setpriv
 * execs in place (runuser would fork), so the pid we hold is the server's own and killing it works.
 */
export function asServiceUser(command: string[]): string[] {
  return process.getuid?.() === 0
    ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", ...command]
    : command;
}

/**
 * initdb into `dir`/data, trust auth, owned by the postgres user under root (it refuses to run as root).
 */
export function initThrowawayCluster(bin: string, dir: string): void {
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync(["id", "-u", "postgres"]).stdout.toString());
    const gid = Number(spawnSync(["id", "-g", "postgres"]).stdout.toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const init = spawnSync(
    asServiceUser([join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]),
  );
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
}

/**
 * The server command of a throwaway cluster made by initThrowawayCluster: loopback only, its socket in
 * `dir`, durability off (a test's data is scratch), plus `settings` (`name=value`).
 */
export function postgresServerCommand(
  bin: string,
  dir: string,
  port: number,
  settings: string[] = [],
): string[] {
  const options = ["listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", ...settings];
  return asServiceUser([
    join(bin, "postgres"),
    "-D",
    join(dir, "data"),
    "-p",
    String(port),
    "-k",
    dir,
    ...options.flatMap((option) => ["-c", option]),
  ]);
}

let serverUrl: Promise<string> | undefined;

/** A PostgreSQL server of its own (initdb into a temporary folder), stopped by stopTestServices. */
export async function startThrowawayPostgres(): Promise<string> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "vf-pg-"));
  scratch.push(dir);
  initThrowawayCluster(bin, dir);
  const port = await freePort();
  const server = spawn(
    postgresServerCommand(bin, dir, port, ["full_page_writes=off", "max_connections=300"]),
    { stdout: "ignore", stderr: "ignore" },
  );
  children.push(server);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor("throwaway PostgreSQL", async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end();
    }
  });
  return url;
}

/**
 * A fresh, empty database for one test app, on the shared test server. Returns its URL and a function
 * that drops it.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  serverUrl ??= process.env.TEST_DATABASE_URL
    ? Promise.resolve(process.env.TEST_DATABASE_URL)
    : startThrowawayPostgres();
  const base = await serverUrl;
  const name = `vf_test_${process.pid}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(base, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

let sharedDbIndex = 0;

async function startThrowawayRedis(): Promise<string> {
  const binary = Bun.which("redis-server");
  if (!binary) throw new Error("redis-server not found: install redis-server or set TEST_REDIS_URL");
  const port = await freePort();
  const server = spawn(
    [binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  children.push(server);
  const url = `redis://127.0.0.1:${port}`;
  await waitFor("throwaway Redis", async () => {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  });
  return url;
}

/**
 * A Redis of its own for one test api: queues, job ids (video ids restart at 1 in every test
 * database) and pub/sub channels never meet another test's. A throwaway redis-server each (a few
 * milliseconds to start), or, with TEST_REDIS_URL, the next logical database of that server (the
 * channels' names carry their database, contract/codec.ts Channel.nameOn).
 */
export async function testRedisUrl(): Promise<string> {
  const shared = process.env.TEST_REDIS_URL;
  if (!shared) return startThrowawayRedis();
  const url = new URL(shared);
  url.pathname = `/${sharedRedisDatabase(sharedDbIndex++, process.env)}`;
  return url.toString();
}

/**
 * The `index`th logical database a test process takes of a shared server (1–15; 0 is left alone). Under
 * `bun test --parallel` (BUN_TEST_WORKER_ID, 1-based) the workers run at once, so each gets a range of
 * its own: TEST_PARALLEL (npm test passes it) workers share the 15 evenly; without it, as for four.
 */
export function sharedRedisDatabase(index: number, env: Record<string, string | undefined>): number {
  const worker = Number(env.BUN_TEST_WORKER_ID);
  if (!Number.isInteger(worker) || worker < 1) return (index % 15) + 1;
  const workers = Math.max(Number(env.TEST_PARALLEL) || 4, worker);
  const slots = Math.max(1, Math.floor(15 / workers));
  return 1 + (((worker - 1) * slots + (index % slots)) % 15);
}

/** The S3 server of this test process: TEST_S3_ENDPOINT (+ keys), or one throwaway SeaweedFS. */
async function testS3Server(): Promise<S3Credentials> {
  const endpoint = process.env.TEST_S3_ENDPOINT;
  if (!endpoint) {
    // A start that failed is not kept: the next test tries again instead of inheriting the failure.
    seaweedfs ??= startSeaweedfs({ bucket: "vf-test-probe" }).catch((error: unknown) => {
      seaweedfs = undefined;
      throw error;
    });
    return seaweedfs;
  }
  const { TEST_S3_ACCESS_KEY_ID: accessKeyId, TEST_S3_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error("TEST_S3_ENDPOINT needs TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY");
  }
  return { endpoint, region: process.env.TEST_S3_REGION || "us-east-1", accessKeyId, secretAccessKey };
}

/**
 * A fresh, empty bucket for one test, on the shared test S3 server, with the STORAGE_URL / S3_* that
 * point the media storage driver at it; `drop()` empties and deletes it.
 */
export async function testS3(): Promise<S3Bucket & { drop: () => Promise<void> }> {
  const server = await testS3Server();
  const name = `vf-test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const bucket = await readyBucket(server, name, { timeoutMs: 10_000 });
  return {
    ...bucket,
    drop: async () => {
      const client = bucketClient(server, name);
      for (;;) {
        const listed = await client.list({ maxKeys: 1000 });
        const keys = (listed.contents ?? []).map((object) => object.key);
        if (keys.length === 0) break;
        await Promise.all(keys.map((key) => client.delete(key)));
      }
      await deleteBucket(server, name);
    },
  };
}
