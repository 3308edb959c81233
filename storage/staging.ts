// Staging directories: private working folders (an upload being written, a transcode attempt's outputs)
// named `<label>--<uuid>` under one root. The local driver keeps them on the media volume (a rename
// publishes them), the S3 driver in the process's own scratch directory; both share this code.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Reclaimed, StagingEntry } from "./index.ts";

const SEPARATOR = "--";

/** The label of an upload's staging: `upload-<owner>` (`upload` alone from earlier versions). */
export const UPLOAD_LABEL = "upload";
export const isUploadStaging = (label: string) =>
  label === UPLOAD_LABEL || label.startsWith(`${UPLOAD_LABEL}-`);

/** Labels become part of a folder name: anything but letters, digits, `-` and `_` turns into `_`. */
export const stagingLabel = (label: string) => label.replace(/[^A-Za-z0-9_-]/g, "_");

/** The path a new staging directory of `label` gets (not created yet, so a caller can register it first). */
export const stagingPath = (root: string, label: string) =>
  join(root, `${stagingLabel(label)}${SEPARATOR}${randomUUID()}`);

export async function createStaging(root: string, label: string): Promise<string> {
  const dir = stagingPath(root, label);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Removes every staging directory created with exactly `label`. */
export async function discardStaging(root: string, label: string): Promise<void> {
  const prefix = `${stagingLabel(label)}${SEPARATOR}`;
  const entries = await readdir(root).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => entry.startsWith(prefix) && !entry.slice(prefix.length).includes(SEPARATOR))
      .map((entry) => rm(join(root, entry), { recursive: true, force: true })),
  );
}

/** Every staging directory under `root` with its label, newest write and size. */
export async function listStaging(root: string): Promise<StagingEntry[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const entries: StagingEntry[] = [];
  for (const name of names) {
    const path = join(root, name);
    const usage = await usageOf(path);
    if (!usage) continue; // gone meanwhile (published or discarded)
    const cut = name.indexOf(SEPARATOR);
    entries.push({ label: cut > 0 ? name.slice(0, cut) : name, path, ...usage });
  }
  return entries;
}

/** Removes the staging directories `doomed` picks; what went, in folders and bytes. */
export async function sweepStaging(
  root: string,
  doomed: (entry: StagingEntry) => boolean | Promise<boolean>,
): Promise<Reclaimed> {
  const reclaimed: Reclaimed = { items: 0, bytes: 0 };
  for (const entry of await listStaging(root)) {
    if (!(await doomed(entry))) continue;
    await rm(entry.path, { recursive: true, force: true });
    reclaimed.items++;
    reclaimed.bytes += entry.bytes;
  }
  return reclaimed;
}

/**
 * Bytes under `path` and the time of its newest write: a file being written keeps its folder young, so
 * an upload or an encode in progress never looks abandoned. Null when `path` no longer exists.
 */
async function usageOf(path: string): Promise<{ bytes: number; lastModified: number } | null> {
  const own = await stat(path).catch(() => null);
  if (!own) return null;
  if (!own.isDirectory()) return { bytes: own.size, lastModified: own.mtimeMs };
  let bytes = 0;
  let lastModified = own.mtimeMs;
  const inside = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of inside) {
    const info = await stat(join(entry.parentPath, entry.name)).catch(() => null);
    if (!info) continue;
    if (info.isFile()) bytes += info.size;
    lastModified = Math.max(lastModified, info.mtimeMs);
  }
  return { bytes, lastModified };
}
