// The settings that switch an install to the bucket, as the operator sets them (printed) or as an env
// file holds them (--write-env). The secret key is written into the file but never printed.
import { rename, stat, writeFile } from "node:fs/promises";
import type { StorageSettings } from "../../../config/storage.ts";

type BucketSettings = Extract<StorageSettings, { kind: "s3" }>;

export const SECRET_SETTING = "S3_SECRET_ACCESS_KEY";

/** The variables, in the order config/storage.ts documents them, normalised as it parsed them. */
export function bucketSettings(target: BucketSettings): Array<[name: string, value: string]> {
  const prefix = target.prefix.replace(/\/$/, "");
  return [
    ["STORAGE_URL", `s3://${target.bucket}${prefix ? `/${prefix}` : ""}`],
    ["S3_ENDPOINT", target.endpoint],
    ["S3_PUBLIC_ENDPOINT", target.publicEndpoint],
    ["S3_REGION", target.region],
    ["S3_FORCE_PATH_STYLE", String(target.forcePathStyle)],
    ["S3_ACCESS_KEY_ID", target.accessKeyId],
    [SECRET_SETTING, target.secretAccessKey],
  ];
}

/** `NAME=value` lines for the terminal: the secret as a placeholder. */
export function printableSettings(settings: Array<[string, string]>): string[] {
  return settings.map(([name, value]) =>
    name === SECRET_SETTING
      ? `${name}=<the ${name} this run used (not printed)>`
      : `${name}=${envValue(value)}`,
  );
}

/**
 * Sets each variable in the env file: an active line for it is replaced in place (later duplicates are
 * dropped, so the file has one value), the others are appended; comments and other lines stay. The file
 * is replaced whole by a rename, so a crash leaves the old one; a new file is readable by its owner only.
 */
export async function writeEnvFile(path: string, settings: Array<[string, string]>): Promise<void> {
  const before = await Bun.file(path)
    .text()
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    });
  const mode = before === null ? 0o600 : (await stat(path)).mode & 0o777;
  const lines = before === null || before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const values = new Map(settings);
  const written = new Set<string>();
  const kept: string[] = [];
  for (const line of lines) {
    const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (name === undefined || !values.has(name)) {
      kept.push(line);
    } else if (!written.has(name)) {
      kept.push(`${name}=${envValue(values.get(name)!)}`);
      written.add(name);
    }
  }
  const added = settings.filter(([name]) => !written.has(name));
  if (added.length > 0) {
    kept.push("# object storage (set by bun run storage:migrate)");
    for (const [name, value] of added) kept.push(`${name}=${envValue(value)}`);
  }
  const temp = `${path}.storage-migrate-${process.pid}`;
  await writeFile(temp, `${kept.join("\n")}\n`, { mode });
  await rename(temp, path);
}

/** A value as a dotenv line carries it: bare when that is unambiguous, else double-quoted. */
function envValue(value: string): string {
  return /^[A-Za-z0-9_.:/@+=,-]*$/.test(value) ? value : JSON.stringify(value);
}
