// The local stack's supervisor: Redis (started when none answers), the api, N transcoder workers, the
// nginx edge, optionally a SeaweedFS as the media storage and an SMTP capture server, each waited for
// until it is ready. Stops in order on request (edge, transcoders, api, the Redis it started, then
// SeaweedFS), and stops everything when a child dies unexpectedly. `npm run up` (dev/up.ts) and the load-test stack (load-tests/stack.ts) run it.
// With a service account (dev/service-account.ts), a root supervisor runs the api, the transcoders and
// its Redis as that account, in folders made theirs first.
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildSpec, SupervisedChild } from "./child.ts";
import type { LineSink } from "./output.ts";
import { httpOk, redisAnswers, waitUntil } from "./probes.ts";
import { planRedis, type RedisSpec, redisAddress } from "./redis.ts";
import { planSeaweedfs, readyBucket, type S3Bucket } from "./seaweedfs.ts";
import {
  accountTempDir,
  assertReachable,
  provideFolders,
  type ServiceAccount,
  serviceFolders,
} from "./service-account.ts";
import type { SmtpCapture } from "./smtp-capture.ts";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

type Env = Record<string, string | undefined>;

export interface TranscoderSpec {
  name: string;
  /** TRANSCODER_METRICS_PORT: its /health is waited for there; null runs it without that server. */
  healthPort: number | null;
  env?: Env;
}

export interface StackSpec {
  /** The environment every child starts from (the api and transcoders read their settings there). */
  env: Env;
  redis: RedisSpec;
  api: { port: number; env?: Env };
  transcoders: TranscoderSpec[];
  /**
   * The nginx edge in front of the api (infra/nginx/edge.ts); it needs MEDIA_TOKEN_SECRET. With tlsPort
   * (and EDGE_TLS_CERT / EDGE_TLS_KEY in the environment) it serves HTTPS there and redirects `port`.
   */
  edge?: { port: number; tlsPort?: number | null; env?: Env } | null;
  /** An in-process SMTP capture server the api sends its mails to (SMTP_URL). */
  smtp?: boolean;
  /** A SeaweedFS the api and transcoders store media in (STORAGE_URL=s3://<bucket>, S3_*). */
  s3?: LocalS3Spec | null;
  /**
   * The unprivileged account the api, the transcoders and a Redis or SeaweedFS started here run as (a root
   * supervisor's choice: dev/service-account.ts); unset, they run as the supervisor.
   */
  serviceAccount?: ServiceAccount | null;
  sink: LineSink;
  /** The supervisor's own messages (what starts, what stops, what died). */
  log: (message: string) => void;
  readyTimeoutMs?: number;
  /** How long a child may take to finish its work in flight after SIGTERM before it is killed. */
  stopGraceMs?: number;
  root?: string;
  /** Aborting it stops the stack, also while it is still starting. */
  signal?: AbortSignal;
}

export interface LocalS3Spec {
  /** Its data (kept between runs for `npm run up`: ./var/seaweedfs). */
  dataDir: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The S3 gateway's port on 127.0.0.1; a free one when unset. */
  port?: number;
}

export type StackEnd =
  | { reason: "requested" }
  | { reason: "child-exited"; child: string; code: number }
  | { reason: "failed-to-start"; error: Error };

export interface Stack {
  redisUrl: string;
  apiUrl: string;
  edgeUrl: string | null;
  /** Where a client talks to: the edge when there is one, else the api. */
  url: string;
  smtp: SmtpCapture | null;
  /** The local SeaweedFS bucket when the stack started one. */
  s3: S3Bucket | null;
  children(): readonly SupervisedChild[];
  /** Resolves once everything is stopped, whatever stopped it. */
  ended: Promise<StackEnd>;
  stop(): Promise<StackEnd>;
}

/** Starts the stack and resolves once every part is ready; on any failure stops what it started and throws. */
export async function startStack(spec: StackSpec): Promise<Stack> {
  if (spec.signal?.aborted) throw new Error("the stack was asked to stop before it started");
  const root = spec.root ?? REPO_ROOT;
  const readyTimeoutMs = spec.readyTimeoutMs ?? 60_000;
  const graceMs = spec.stopGraceMs ?? 30_000;
  const redisUrl = spec.redis.url;
  const apiUrl = `http://127.0.0.1:${spec.api.port}`;
  const tlsPort = spec.edge?.tlsPort ?? null;
  const edgeUrl = spec.edge
    ? tlsPort
      ? `https://127.0.0.1:${tlsPort}`
      : `http://127.0.0.1:${spec.edge.port}`
    : null;

  // Stop order: the edge (no new requests), the transcoders (they hand unfinished jobs back), the
  // api, the Redis the others use, and last the object store that transcoders upload into until the end.
  const tiers: {
    storage: SupervisedChild[];
    redis: SupervisedChild[];
    api: SupervisedChild[];
    transcoders: SupervisedChild[];
    edge: SupervisedChild[];
  } = { storage: [], redis: [], api: [], transcoders: [], edge: [] };
  let smtp: SmtpCapture | null = null;
  let s3: S3Bucket | null = null;
  const account = spec.serviceAccount ?? null;
  /** The account's TMPDIR, removed once its processes are gone. */
  let accountTemp: string | null = null;
  let ending: Promise<StackEnd> | null = null;
  let resolveEnded: (end: StackEnd) => void = () => {};
  const ended = new Promise<StackEnd>((resolve) => {
    resolveEnded = resolve;
  });

  const stopChild = async (child: SupervisedChild) => {
    if (!child.running) return void (await child.exited);
    spec.log(`stopping ${child.name} (pid ${child.pid})`);
    const { killed } = await child.stop(graceMs);
    if (killed) spec.log(`${child.name} did not stop within ${Math.round(graceMs / 1000)} s; killed it`);
  };
  const shutDown = (end: StackEnd): Promise<StackEnd> => {
    ending ??= (async () => {
      for (const tier of [tiers.edge, tiers.transcoders, tiers.api, tiers.redis, tiers.storage]) {
        await Promise.all(tier.map(stopChild));
      }
      await smtp?.close();
      if (accountTemp) rmSync(accountTemp, { recursive: true, force: true });
      resolveEnded(end);
      return end;
    })();
    return ending;
  };
  spec.signal?.addEventListener("abort", () => void shutDown({ reason: "requested" }), { once: true });
  const launch = (tier: SupervisedChild[], childSpec: ChildSpec) => {
    const child = new SupervisedChild(childSpec, spec.sink);
    tier.push(child);
    void child.exited.then((code) => {
      if (ending) return;
      spec.log(`${child.name} exited unexpectedly (status ${code}); stopping the others`);
      void shutDown({ reason: "child-exited", child: child.name, code });
    });
    return child;
  };
  const died = (child: SupervisedChild) => () =>
    !child.running ? `${child.name} exited` : ending ? "the stack is stopping" : null;
  const base = (extra: Env): Env => ({ ...spec.env, ...extra });
  const unprivileged = (child: ChildSpec): ChildSpec =>
    account && accountTemp
      ? { ...child, account, env: { ...child.env, HOME: account.home, TMPDIR: accountTemp } }
      : child;
  const startStorage = async (local: LocalS3Spec): Promise<S3Bucket> => {
    const { dataDir, port: s3Port, accessKeyId, secretAccessKey } = local;
    // Unprivileged like the others: a root object store would be one more root process facing the
    // network, and its files would be root's for a later unprivileged run.
    if (account) provideFolders(account, root, [{ path: dataDir, what: "LOCAL_S3_DIR", private: true }]);
    const owner = account ? { uid: account.uid, gid: account.gid } : undefined;
    const plan = await planSeaweedfs({ dataDir, s3Port, accessKeyId, secretAccessKey, root, owner });
    spec.log(`starting SeaweedFS (S3 on ${plan.credentials.endpoint}, data in ${dataDir})`);
    const weed = launch(tiers.storage, unprivileged(plan.child));
    return readyBucket(plan.credentials, local.bucket, { timeoutMs: readyTimeoutMs, giveUp: died(weed) });
  };

  try {
    if (account) {
      // Its processes read their code and bun from here: say so now rather than as a child's EACCES.
      assertReachable(account, root, `the repository ${root}`);
      assertReachable(account, dirname(process.execPath), `bun (${process.execPath})`);
      accountTemp = accountTempDir(account);
    }
    // SeaweedFS takes a few seconds: it gets ready while Redis starts.
    const storageReady = spec.s3 ? startStorage(spec.s3) : Promise.resolve(null);
    // Awaited below; until then a failure must not count as unhandled (Redis may fail first).
    storageReady.catch(() => {});
    const plan = await planRedis(spec.redis, root);
    spec.log(plan.message);
    if (plan.kind === "start") {
      const dataDir = spec.redis.dataDir;
      if (dataDir && account)
        provideFolders(account, root, [{ path: dataDir, what: "the Redis data", private: true }]);
      else if (dataDir) mkdirSync(dataDir, { recursive: true });
      const redis = launch(tiers.redis, unprivileged(plan.child));
      const { host, port } = redisAddress(redisUrl);
      await waitUntil("redis-server", () => redisAnswers(host, port), {
        timeoutMs: 10_000,
        giveUp: died(redis),
      });
    }
    s3 = await storageReady;
    if (spec.smtp) {
      const { startSmtpCapture } = await import("./smtp-capture.ts");
      smtp = await startSmtpCapture();
    }

    const bun = process.execPath;
    const apiEnv = base({
      HOST: "127.0.0.1",
      PORT: String(spec.api.port),
      REDIS_URL: redisUrl,
      ...(smtp ? { SMTP_URL: smtp.url } : {}),
      ...s3?.env,
      ...spec.api.env,
    });
    const transcoderEnvs = spec.transcoders.map((transcoder) =>
      base({
        REDIS_URL: redisUrl,
        TRANSCODER_METRICS_PORT: String(transcoder.healthPort ?? 0),
        ...s3?.env,
        ...transcoder.env,
      }),
    );
    if (account) provideFolders(account, root, serviceFolders(apiEnv, transcoderEnvs));
    const api = launch(
      tiers.api,
      unprivileged({ name: "api", command: [bun, "api/main.ts"], cwd: root, env: apiEnv }),
    );
    const transcoders = spec.transcoders.map((transcoder, i) =>
      launch(
        tiers.transcoders,
        unprivileged({
          name: transcoder.name,
          command: [bun, "transcoder/main.ts"],
          cwd: root,
          env: transcoderEnvs[i] ?? {},
        }),
      ),
    );
    const edge = spec.edge
      ? launch(tiers.edge, {
          name: "edge",
          command: [bun, "infra/nginx/edge.ts"],
          cwd: root,
          env: base({
            EDGE_PORT: String(spec.edge.port),
            ...(tlsPort ? { EDGE_TLS_PORT: String(tlsPort) } : {}),
            API_UPSTREAM: `127.0.0.1:${spec.api.port}`,
            ...spec.edge.env,
          }),
        })
      : null;

    const wait = { timeoutMs: readyTimeoutMs };
    await Promise.all([
      waitUntil("the api (/ready)", () => httpOk(`${apiUrl}/ready`), { ...wait, giveUp: died(api) }),
      ...transcoders.map((child, i) => {
        const port = spec.transcoders[i]?.healthPort;
        const probe = port ? () => httpOk(`http://127.0.0.1:${port}/health`) : async () => true;
        return waitUntil(`${child.name} (/health)`, probe, { ...wait, giveUp: died(child) });
      }),
    ]);
    if (edge && edgeUrl) {
      // Any certificate: this only asks whether nginx serves the api, on loopback.
      const probe = () => httpOk(`${edgeUrl}/ready`, 2000, { anyCertificate: true });
      await waitUntil("the edge (/ready through nginx)", probe, {
        ...wait,
        giveUp: died(edge),
      });
    }
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    await shutDown({ reason: "failed-to-start", error: failure });
    throw failure;
  }

  return {
    redisUrl,
    apiUrl,
    edgeUrl,
    url: edgeUrl ?? apiUrl,
    smtp,
    s3,
    children: () => [...tiers.storage, ...tiers.redis, ...tiers.api, ...tiers.transcoders, ...tiers.edge],
    ended,
    stop: () => shutDown({ reason: "requested" }),
  };
}
