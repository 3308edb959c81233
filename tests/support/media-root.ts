// A look into MEDIA_ROOT: which files and folders the api (or a transcoder) left there.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Relative paths of every file under `dir` (empty when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** Entries directly inside `dir` (files or folders; empty when it does not exist). */
export function entriesOf(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
