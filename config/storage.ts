// Where media lives, parsed once for every process (api, transcoder, CLI tools): the local file system
// under MEDIA_ROOT (the embedded default), or an S3-compatible bucket named by STORAGE_URL.
import { boolean, ConfigError, type Env, integer, optional } from "./env.ts";

/** How often each process sweeps what it may reclaim, and when untouched staging counts as abandoned. */
interface SweepSettings {
  /** STORAGE_SWEEP_INTERVAL_SECONDS: the api's and every transcoder's periodic sweep. */
  readonly sweepIntervalSeconds: number;
  /**
   * STAGING_MAX_IDLE_SECONDS: staging nothing wrote to for this long is a leftover (a killed api's
   * upload, a hung request's, a folder no label explains); a transcode attempt's goes once its lock does.
   */
  readonly stagingMaxIdleSeconds: number;
}

export type StorageSettings =
  | ({ readonly kind: "local"; readonly mediaRoot: string } & SweepSettings)
  | ({
      readonly kind: "s3";
      readonly bucket: string;
      /** Key prefix inside the bucket ("" or ending in "/"), so one bucket can hold several installs. */
      readonly prefix: string;
      readonly endpoint: string;
      /** What browsers and players reach for presigned URLs (a CDN or the public name of the store). */
      readonly publicEndpoint: string;
      readonly region: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      /** Bucket in the path (SeaweedFS, MinIO, Garage, R2) rather than in the host name (AWS style). */
      readonly forcePathStyle: boolean;
      /** How long a replaced revision's objects stay for viewers mid-playlist before they are deleted. */
      readonly retiredGraceSeconds: number;
    } & SweepSettings);

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function loadStorageSettings(env: Env): StorageSettings {
  const sweep: SweepSettings = {
    sweepIntervalSeconds: integer(env, "STORAGE_SWEEP_INTERVAL_SECONDS", 600, 1, 86_400),
    stagingMaxIdleSeconds: integer(env, "STAGING_MAX_IDLE_SECONDS", 3600, 1, 30 * 86_400),
  };
  const raw = optional(env, "STORAGE_URL");
  if (!raw || raw.startsWith("file:")) {
    const fromUrl = raw ? decodeURIComponent(new URL(raw).pathname) : undefined;
    return Object.freeze({
      kind: "local",
      mediaRoot: fromUrl || (optional(env, "MEDIA_ROOT") ?? "./var/media"),
      ...sweep,
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`STORAGE_URL must be file:///path or s3://bucket/prefix, got "${raw}"`);
  }
  if (parsed.protocol !== "s3:") {
    throw new ConfigError(`STORAGE_URL must be file:///path or s3://bucket/prefix, got "${raw}"`);
  }
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket)) throw new ConfigError(`STORAGE_URL names an invalid bucket "${bucket}"`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, "");
  const need = (name: string) => {
    const value = optional(env, name);
    if (!value) throw new ConfigError(`${name} is required when STORAGE_URL is s3://…`);
    return value;
  };
  const endpoint = need("S3_ENDPOINT");
  for (const [name, value] of [
    ["S3_ENDPOINT", endpoint],
    ["S3_PUBLIC_ENDPOINT", optional(env, "S3_PUBLIC_ENDPOINT") ?? endpoint],
  ] as const) {
    if (!/^https?:\/\/[^/]+\/?$/.test(value)) {
      throw new ConfigError(`${name} must be an http(s) origin like http://127.0.0.1:8333, got "${value}"`);
    }
  }
  return Object.freeze({
    kind: "s3",
    bucket,
    prefix: path ? `${path}/` : "",
    endpoint: endpoint.replace(/\/$/, ""),
    publicEndpoint: (optional(env, "S3_PUBLIC_ENDPOINT") ?? endpoint).replace(/\/$/, ""),
    region: optional(env, "S3_REGION") ?? "us-east-1",
    accessKeyId: need("S3_ACCESS_KEY_ID"),
    secretAccessKey: need("S3_SECRET_ACCESS_KEY"),
    forcePathStyle: boolean(env, "S3_FORCE_PATH_STYLE", true),
    retiredGraceSeconds: integer(env, "RETIRED_REVISION_GRACE_SECONDS", 7200, 0, 30 * 86_400),
    ...sweep,
  });
}
