// The local-stack supervisor (dev/stack.ts, dev/up.ts) with real processes: Redis, the api, a
// transcoder, the nginx edge and a SeaweedFS on free ports; readiness, ordered shutdown, a child that dies, a child
// that never gets ready, and `bun dev/up.ts` under SIGTERM. Nothing may be left running afterwards.
// Run as root (here and in CI), the stack runs the api, the transcoders and its Redis as the service
// account, as `npm run up` does (dev/service-account.ts): their uids are read from /proc, and an upload
// through `bun dev/up.ts` must still become ready and be served by the edge's workers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memorySink } from "../../dev/output.ts";
import { portOpen } from "../../dev/probes.ts";
import { bucketClient } from "../../dev/s3-buckets.ts";
import { generateS3Keys } from "../../dev/seaweedfs.ts";
import { chooseServiceAccount } from "../../dev/service-account.ts";
import { createTestDatabase, freePort, testRedisUrl } from "../../dev/services.ts";
import { REPO_ROOT, type StackSpec, startStack } from "../../dev/stack.ts";
import { type AdminVideo, sessionHeaders, uploadForm } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { childrenOf, uidsOf } from "../support/processes.ts";
import { Client } from "../support/test-api.ts";

let scratch: string;
let database: { url: string; drop: () => Promise<void> };
/** Who a root supervisor runs the api, the transcoders and its Redis as; null when this test is not root. */
const accounts = chooseServiceAccount(undefined);
/** The uid those processes must have: the service account's under root, ours otherwise. */
const serviceUid = accounts.account?.uid ?? process.getuid!();

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vf-stack-test-"));
  // The media root is in here: the edge's workers (nobody, under a root test run) must reach it.
  chmodSync(scratch, 0o711);
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Settings of every child: this machine's PATH and the test's stores, nothing from ./.env. Media and
 * mails in folders of this stack's own: another test's stack, run as another account, made its own.
 */
function childEnv(): Record<string, string> {
  const run = join(scratch, crypto.randomUUID().slice(0, 8));
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    MEDIA_ROOT: join(run, "media"),
    MAIL_DIR: join(run, "mail"),
    JWT_SECRET: randomBytes(36).toString("base64url"),
    MEDIA_TOKEN_SECRET: randomBytes(36).toString("base64url"),
    TRANSCODER_SHUTDOWN_GRACE_SECONDS: "2",
  };
}

/** True while any process of the group (the child and what it started) is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function baseSpec(messages: string[], edge: boolean): Promise<StackSpec> {
  const [redisPort, apiPort, healthPort, edgePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  return {
    env: childEnv(),
    redis: { url: `redis://127.0.0.1:${redisPort}`, startIfMissing: true },
    api: { port: apiPort },
    transcoders: [{ name: "transcoder-1", healthPort }],
    edge: edge ? { port: edgePort } : null,
    serviceAccount: accounts.account,
    sink: memorySink(),
    log: (message) => messages.push(message),
    stopGraceMs: 10_000,
  };
}

describe("startStack", () => {
  test("starts Redis, the api, a transcoder and the edge, ready; stops them in order, leaving nothing", async () => {
    const messages: string[] = [];
    const spec = await baseSpec(messages, true);
    const stack = await startStack(spec);
    const pids = stack.children().map((child) => child.pid);
    expect(stack.children().map((child) => child.name)).toEqual(["redis", "api", "transcoder-1", "edge"]);
    expect(stack.url).toBe(stack.edgeUrl!);
    // Real, effective, saved and file-system uid alike: nothing left that could switch back to root.
    const byName = new Map(stack.children().map((child) => [child.name, child.pid]));
    for (const name of ["redis", "api", "transcoder-1"]) {
      expect({ name, uids: await uidsOf(byName.get(name)!) }).toEqual({
        name,
        uids: Array(4).fill(serviceUid),
      });
    }
    // The edge's nginx master keeps the supervisor's account (it reads the key and the secret).
    expect(await uidsOf(byName.get("edge")!)).toEqual(Array(4).fill(process.getuid!()));
    const environ = readFileSync(`/proc/${byName.get("api")}/environ`, "utf8").split("\0");
    const accountTmp = environ.find((entry) => entry.startsWith("TMPDIR="))?.slice("TMPDIR=".length);
    if (accounts.account) {
      // A temporary folder of the account's own, gone with the stack.
      expect(accountTmp).toBeDefined();
      expect(statSync(accountTmp!).uid).toBe(serviceUid);
      expect(environ).toContain(`HOME=${accounts.account.home}`);
    }

    expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.apiUrl}/ready`)).status).toBe(200);
    const health = spec.transcoders[0]!.healthPort;
    expect((await fetch(`http://127.0.0.1:${health}/health`)).status).toBe(200);

    expect(await stack.stop()).toEqual({ reason: "requested" });
    expect(messages.filter((m) => m.startsWith("stopping")).map((m) => m.split(" ")[1])).toEqual([
      "edge",
      "transcoder-1",
      "api",
      "redis",
    ]);
    expect(pids.filter(groupAlive)).toEqual([]);
    expect(await portOpen("127.0.0.1", spec.edge!.port)).toBe(false);
    expect(await portOpen("127.0.0.1", Number(new URL(stack.redisUrl).port))).toBe(false);
    if (accounts.account) expect(existsSync(accountTmp!)).toBe(false);
  }, 60_000);

  test("with smtp, the api's mails reach the stack's SMTP capture", async () => {
    const spec = { ...(await baseSpec([], false)), transcoders: [], smtp: true };
    const stack = await startStack(spec);
    try {
      expect(stack.smtp).not.toBeNull();
      const email = `stack-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const password = "violet-Harbour-42-lantern";
      const registered = await fetch(`${stack.url}/api/register/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password, confirmed_password: password }),
      });
      expect(registered.status).toBe(201);
      const mail = await stack.smtp!.waitForMail((m) => m.to.includes(email));
      expect(mail.links.some((link) => link.includes("activate"))).toBe(true);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  // Its limit is above the stack's own ready limits (60 s for SeaweedFS, then 60 s for the rest; about
  // 9 s on a loaded machine): a start that slow fails with the stack's message naming what never got
  // ready, not a bare timeout (a parallel run at load 9 took over 60 s once).
  test("with s3, SeaweedFS starts first, the api and transcoders get STORAGE_URL=s3://…, it stops last", async () => {
    const messages: string[] = [];
    const keys = generateS3Keys();
    const spec: StackSpec = {
      ...(await baseSpec(messages, false)),
      s3: { dataDir: join(scratch, "seaweedfs"), bucket: "videoflix", ...keys },
    };
    const stack = await startStack(spec);
    const children = stack.children();
    expect(children.map((child) => child.name)).toEqual(["seaweedfs", "redis", "api", "transcoder-1"]);
    expect(stack.s3).toMatchObject({ url: "s3://videoflix", bucket: "videoflix", ...keys });
    // The object store is unprivileged too, and its data (the identity file with the keys) is its own.
    const weedPid = children.find((child) => child.name === "seaweedfs")!.pid;
    expect(await uidsOf(weedPid)).toEqual(Array(4).fill(serviceUid));
    expect(statSync(join(scratch, "seaweedfs", "s3-identities.json")).uid).toBe(serviceUid);
    // What the processes were really given, as the kernel keeps it.
    const environOf = (name: string) => {
      const pid = children.find((child) => child.name === name)!.pid;
      return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    };
    for (const name of ["api", "transcoder-1"]) {
      expect(environOf(name)).toEqual(
        expect.arrayContaining([
          "STORAGE_URL=s3://videoflix",
          `S3_ENDPOINT=${stack.s3!.endpoint}`,
          `S3_ACCESS_KEY_ID=${keys.accessKeyId}`,
          "S3_FORCE_PATH_STYLE=true",
        ]),
      );
    }
    const bucket = bucketClient(stack.s3!, "videoflix");
    await bucket.write("probe.txt", "stored");
    expect(await bucket.file("probe.txt").text()).toBe("stored");

    const pids = children.map((child) => child.pid);
    await stack.stop();
    expect(messages.filter((m) => m.startsWith("stopping")).map((m) => m.split(" ")[1])).toEqual([
      "transcoder-1",
      "api",
      "redis",
      "seaweedfs",
    ]);
    expect(pids.filter(groupAlive)).toEqual([]);
    expect(await portOpen("127.0.0.1", Number(new URL(stack.s3!.endpoint).port))).toBe(false);
  }, 150_000);

  test("a child that dies stops the stack with a message naming it", async () => {
    const messages: string[] = [];
    const stack = await startStack(await baseSpec(messages, false));
    const pids = stack.children().map((child) => child.pid);
    const transcoder = stack.children().find((child) => child.name === "transcoder-1")!;
    process.kill(transcoder.pid, "SIGKILL");

    const end = await stack.ended;
    expect(end).toMatchObject({ reason: "child-exited", child: "transcoder-1" });
    expect(
      messages.some((m) => /^transcoder-1 exited unexpectedly \(status \d+\); stopping the others$/.test(m)),
    ).toBe(true);
    expect(pids.filter(groupAlive)).toEqual([]);
  }, 60_000);

  test("a child that exits while starting fails the start, names it and leaves nothing running", async () => {
    const messages: string[] = [];
    const spec = await baseSpec(messages, false);
    // The api refuses a JWT secret this short at start-up and exits.
    spec.api.env = { JWT_SECRET: "too-short" };
    await expect(startStack(spec)).rejects.toThrow("the api (/ready): api exited");
    expect(await portOpen("127.0.0.1", Number(new URL(spec.redis.url).port))).toBe(false);
    expect(await portOpen("127.0.0.1", spec.transcoders[0]!.healthPort!)).toBe(false);
  }, 60_000);
});

/** `bun dev/up.ts` on its own ports and Redis, waited for until it says it is ready (or exits). */
async function startUp(
  args: string[],
  ports: { port: number; metricsPort: number; redisUrl: string },
  env: Record<string, string>,
  readyWithinMs: number,
) {
  const up = Bun.spawn([process.execPath, "dev/up.ts", ...args], {
    cwd: REPO_ROOT,
    env: {
      ...childEnv(),
      PORT: String(ports.port),
      API_PORT: String(await freePort()),
      ...env,
      REDIS_URL: ports.redisUrl,
      TRANSCODER_METRICS_PORT: String(ports.metricsPort),
      ADMIN_EMAIL: "admin@up.test",
      ADMIN_PASSWORD: "Up-test-passphrase-0042",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  void (async () => {
    for await (const chunk of up.stdout) output += new TextDecoder().decode(chunk);
  })();
  const deadline = Date.now() + readyWithinMs;
  while (!output.includes("==> ready in") && Date.now() < deadline && up.exitCode === null) {
    await Bun.sleep(100);
  }
  return { up, output: () => output };
}

describe("bun dev/up.ts", () => {
  test("prints where everything is, gets ready, runs the api and transcoders unprivileged, serves an upload through the edge, and on SIGTERM stops everything and exits 0", async () => {
    const [port, metricsPort, redisUrl] = await Promise.all([freePort(), freePort(), testRedisUrl()]);
    const { up, output: printed } = await startUp(
      ["--admin-password-file=./var/admin-password"],
      { port, metricsPort, redisUrl },
      { TRANSCODER_PRESET: "ultrafast", TRANSCODER_LADDER: "180", HLS_SEGMENT_SECONDS: "1" },
      60_000,
    );
    let output = printed();
    expect(output).toContain("==> ready in");
    expect(output).toContain(`API base:     http://localhost:${port}/api/`);
    expect(output).toContain("admin:        admin@up.test, password in ./var/admin-password");
    expect(output).toContain("using REDIS_URL from the environment");
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    // Who runs what, from /proc: root's run switches the api and the transcoder to the service
    // account; any other run switches nothing, so they have our uid (and the summary says why).
    const children = await childrenOf(up.pid);
    const running = (script: string) => children.filter((child) => child.command.includes(script));
    expect(running("api/main.ts")).toHaveLength(1);
    expect(running("transcoder/main.ts")).toHaveLength(1);
    for (const child of [...running("api/main.ts"), ...running("transcoder/main.ts")]) {
      const uids = await uidsOf(child.pid);
      expect(uids).toEqual(Array(4).fill(serviceUid));
      if (accounts.account) expect(uids).not.toContain(0);
    }
    if (accounts.account) {
      expect(output).toContain(
        `accounts:     the api, the transcoders and a Redis or SeaweedFS started here as ${accounts.account.user} (uid ${serviceUid})`,
      );
    } else {
      expect(output).toContain(`accounts:     everything as`);
      expect(output).toContain("not root, no account switch");
    }

    // An upload through the edge, transcoded by the unprivileged worker, its segment sent by nginx's
    // workers (another account again) from the tree the worker published.
    const base = `http://127.0.0.1:${port}`;
    const admin = new Client(base);
    expect(
      (await admin.post("/api/login/", { email: "admin@up.test", password: "Up-test-passphrase-0042" }))
        .status,
    ).toBe(200);
    const uploaded = await fetch(`${base}/api/admin/videos`, {
      method: "POST",
      headers: sessionHeaders(admin),
      body: uploadForm({
        title: "Up",
        description: "Through the edge",
        category: "Tests",
        file: await tinyMp4Bytes(),
      }),
    });
    const created = (await uploaded.json()) as AdminVideo;
    expect(uploaded.status).toBe(202);
    const video = await eventually(
      "the upload transcoded",
      async () => {
        const current = (await (await admin.get(`/api/admin/videos/${created.id}`)).json()) as AdminVideo;
        if (current.processing_state === "error")
          throw new Error(`transcode failed: ${current.processing_error}`);
        return current.processing_state === "ready" ? current : null;
      },
      60_000,
    );
    expect(video.renditions.length).toBeGreaterThan(0);
    const uris = (text: string) => text.split("\n").filter((line) => line.trim() && !line.startsWith("#"));
    const master = await admin.get(`/api/video/${created.id}/master.m3u8`);
    expect(master.status).toBe(200);
    const mediaUrl = new URL(uris(await master.text())[0]!, `${base}/api/video/${created.id}/master.m3u8`);
    const media = await fetch(mediaUrl);
    expect(media.status).toBe(200);
    const segment = await fetch(new URL(uris(await media.text())[0]!, mediaUrl));
    expect(segment.status).toBe(200);
    expect(segment.headers.get("x-served-by")).toBe("edge");
    expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(0);

    up.kill("SIGTERM");
    expect(await up.exited).toBe(0);
    output = printed();
    expect(output).toContain("==> signal received: shutting down");
    expect(output).toEndWith("==> stopped\n");
    const stopped = [...output.matchAll(/==> stopping (\S+) \(pid (\d+)\)/g)];
    expect(stopped.map((match) => match[1])).toEqual(["edge", "transcoder", "api"]);
    expect(stopped.map((match) => Number(match[2])).filter(groupAlive)).toEqual([]);
  }, 180_000);

  test("with EDGE_TLS_CERT/KEY: HTTPS on EDGE_TLS_PORT, PUBLIC_URL https, PORT redirects", async () => {
    const [port, tlsPort, metricsPort, redisUrl] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      testRedisUrl(),
    ]);
    // What `npm run up -- --tls` makes into ./var/tls.
    const cert = join(scratch, "edge.crt");
    const key = join(scratch, "edge.key");
    const openssl = Bun.spawnSync([
      ...["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-keyout", key, "-out", cert],
    ]);
    expect(openssl.exitCode).toBe(0);
    const { up, output: printed } = await startUp(
      [],
      { port, metricsPort, redisUrl },
      {
        EDGE_TLS_PORT: String(tlsPort),
        EDGE_TLS_CERT: cert,
        EDGE_TLS_KEY: key,
        EDGE_HSTS_MAX_AGE: "0",
      },
      60_000,
    );
    try {
      const output = printed();
      expect(output).toContain("==> ready in");
      expect(output).toContain(`API base:     https://localhost:${tlsPort}/api/`);
      const tls = { ca: readFileSync(cert, "utf8") };
      const ready = await fetch(`https://127.0.0.1:${tlsPort}/ready`, { tls });
      expect(ready.status).toBe(200);
      expect(ready.headers.get("strict-transport-security")).toBe("max-age=0");
      const plain = await fetch(`http://127.0.0.1:${port}/ready`, { redirect: "manual" });
      expect(plain.status).toBe(308);
      expect(plain.headers.get("location")).toBe(`https://127.0.0.1:${tlsPort}/ready`);
    } finally {
      up.kill("SIGTERM");
      expect(await up.exited).toBe(0);
    }
  }, 120_000);
});
