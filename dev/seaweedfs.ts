// SeaweedFS as the S3-compatible object store of the tests and of `npm run up -- --s3`: `weed mini`
// (master, volume server, filer and S3 gateway in one process) on free loopback ports, with one S3
// identity from a `-s3.config` file, so every request is really signed and checked. The binary is
// built from source by infra/setup.sh (ensure_seaweedfs) into ./var/tools/bin/weed.
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildSpec, SupervisedChild } from "./child.ts";
import { memorySink } from "./output.ts";
import { httpOk, waitUntil } from "./probes.ts";
import { bucketClient, createBucket, type S3Credentials, S3RequestError } from "./s3-buckets.ts";
import { freePort } from "./services.ts";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A bucket on an S3-compatible server, and the settings that point the media storage driver at it. */
export interface S3Bucket extends S3Credentials {
  bucket: string;
  /** STORAGE_URL: s3://<bucket> */
  url: string;
  /** STORAGE_URL and S3_*, as the api and the transcoders read them. */
  env: Record<string, string>;
}

/** A SeaweedFS started here: its bucket, and how to stop it (which also removes a throwaway data folder). */
export interface LocalS3 extends S3Bucket {
  stop(): Promise<void>;
}

export function s3Bucket(credentials: S3Credentials, bucket: string): S3Bucket {
  const url = `s3://${bucket}`;
  return {
    ...credentials,
    bucket,
    url,
    env: {
      STORAGE_URL: url,
      S3_ENDPOINT: credentials.endpoint,
      S3_REGION: credentials.region,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      // Bucket in the path: what SeaweedFS wants; players on this machine reach the same address.
      S3_FORCE_PATH_STYLE: "true",
      S3_PUBLIC_ENDPOINT: credentials.endpoint,
    },
  };
}

/** Random keys in the shape AWS uses (20 upper-case characters, 40 of base64). */
export function generateS3Keys(): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = `VF${randomBytes(12).toString("hex").toUpperCase().slice(0, 18)}`;
  return { accessKeyId, secretAccessKey: randomBytes(30).toString("base64url").slice(0, 40) };
}

/**
 * ./var/tools/bin/weed (WEED_BIN overrides it); throws with the command that builds it, or with
 * SEAWEEDFS_UNAVAILABLE's reason when that is set (npm test's first phase: infra/test-phases.ts).
 */
export function weedBinary(root = REPO_ROOT): string {
  const unavailable = process.env.SEAWEEDFS_UNAVAILABLE;
  if (unavailable) throw new Error(`SeaweedFS is not available here: ${unavailable}`);
  const binary = process.env.WEED_BIN || join(root, "var/tools/bin/weed");
  if (!existsSync(binary)) {
    throw new Error(`SeaweedFS is not built (${binary}): bash infra/setup.sh up --s3 builds it`);
  }
  return binary;
}

export interface SeaweedfsOptions {
  /** Its volumes, filer metadata and the identity file; kept between runs when the caller keeps it. */
  dataDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** The S3 port (free one when unset); every other port is a free one. */
  s3Port?: number;
  name?: string;
  root?: string;
  /** The account weed runs as, when a root supervisor starts it unprivileged: the identity file is its. */
  owner?: { uid: number; gid: number };
}

export interface SeaweedfsPlan {
  child: ChildSpec;
  credentials: S3Credentials;
}

/**
 * The `weed mini` child on 127.0.0.1: every port chosen here (its defaults would clash with a second
 * one, or with anything on 8888 or 9333), the extras (WebDAV, admin UI, Iceberg, Lance, telemetry) off.
 */
export async function planSeaweedfs(options: SeaweedfsOptions): Promise<SeaweedfsPlan> {
  mkdirSync(options.dataDir, { recursive: true });
  const identities = join(options.dataDir, "s3-identities.json");
  // Admin: CreateBucket needs it. Rewritten at every start, so keys changed in ./var take effect.
  const identity = {
    identities: [
      {
        name: "videoflix",
        credentials: [{ accessKey: options.accessKeyId, secretKey: options.secretAccessKey }],
        actions: ["Admin", "Read", "Write", "List", "Tagging"],
      },
    ],
  };
  writeFileSync(identities, JSON.stringify(identity), { mode: 0o600 });
  // A root supervisor writes it for the unprivileged weed it starts: private, but that account's.
  if (options.owner) chownSync(identities, options.owner.uid, options.owner.gid);
  const [s3, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3Grpc, admin, adminGrpc] =
    await Promise.all([
      options.s3Port ? Promise.resolve(options.s3Port) : freePort(),
      ...Array.from({ length: 9 }, () => freePort()),
    ]);
  const command = [
    weedBinary(options.root),
    "mini",
    `-dir=${options.dataDir}`,
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-s3.config=${identities}`,
    // Like AWS: writing to a bucket that was never created is NoSuchBucket, not a new bucket.
    "-s3.autoCreateBucket=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    "-master.telemetry=false",
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    "-webdav=false",
    // The admin server runs even without its UI (it schedules maintenance): ports of its own too.
    "-admin.ui=false",
    `-admin.port=${admin}`,
    `-admin.port.grpc=${adminGrpc}`,
    "-admin.port.legacy=0",
  ];
  return {
    child: {
      name: options.name ?? "seaweedfs",
      command,
      cwd: options.dataDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    },
    credentials: {
      endpoint: `http://127.0.0.1:${s3}`,
      region: options.region ?? "us-east-1",
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
    },
  };
}

/**
 * Waits until the gateway answers and a bucket can be made, then proves it with a signed write and read
 * through Bun's S3Client (the S3 port answers before the filer behind it takes writes).
 */
export async function readyBucket(
  credentials: S3Credentials,
  bucket: string,
  options: { timeoutMs: number; giveUp?: () => string | null },
): Promise<S3Bucket> {
  await waitUntil("SeaweedFS (S3 /healthz)", () => httpOk(`${credentials.endpoint}/healthz`), options);
  const client = bucketClient(credentials, bucket);
  const probe = `.vf-ready-${crypto.randomUUID()}`;
  await waitUntil(
    `SeaweedFS (bucket ${bucket})`,
    async () => {
      try {
        await createBucket(credentials, bucket);
      } catch (error) {
        // Wrong keys or a bad name will not get better by waiting.
        if (error instanceof S3RequestError && error.status < 500) throw error;
        return false;
      }
      try {
        await client.write(probe, "ready");
        const back = await client.file(probe).text();
        await client.delete(probe);
        return back === "ready";
      } catch {
        return false;
      }
    },
    { ...options, intervalMs: 200 },
  );
  return s3Bucket(credentials, bucket);
}

/**
 * A SeaweedFS of its own with one bucket, for a test run or a bench: data in a temporary folder (or
 * `dataDir`), fresh keys; `stop()` ends it and removes the temporary folder.
 */
export async function startSeaweedfs(
  options: { bucket?: string; dataDir?: string; timeoutMs?: number } = {},
): Promise<LocalS3> {
  const throwaway = options.dataDir ? null : mkdtempSync(join(tmpdir(), "vf-seaweedfs-"));
  const dataDir = options.dataDir ?? (throwaway as string);
  const plan = await planSeaweedfs({ dataDir, ...generateS3Keys() });
  // A test run that is killed never calls stop(): on Linux the server then stops with it all the same
  // (SupervisedChild starts it with a parent-death signal).
  const output = memorySink();
  const child = new SupervisedChild(plan.child, output);
  const stop = async () => {
    // Its data is thrown away: no need to wait for the filer's and volumes' orderly shutdown.
    await child.stop(1000);
    if (throwaway) rmSync(throwaway, { recursive: true, force: true });
  };
  try {
    const bucket = await readyBucket(plan.credentials, options.bucket ?? "videoflix", {
      timeoutMs: options.timeoutMs ?? 30_000,
      giveUp: () => (child.running ? null : "weed exited"),
    });
    return { ...bucket, stop };
  } catch (error) {
    await stop();
    const tail = output.of(plan.child.name).slice(-15).join("\n");
    throw new Error(`${(error as Error).message}\n${tail}`);
  }
}
