// A real, small file system for the full-disk tests: a tmpfs mounted for the test (root only, as in
// CI), so writes fail with the kernel's own ENOSPC. No silent skip: without root the test fails, since
// a run without the small file system has not tested the full-disk path.
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SmallDisk {
  readonly path: string;
  /** Bytes an unprivileged writer may still use. */
  freeBytes(): number;
  /** Unmounts it and removes the mount point. */
  remove(): void;
}

export function mountSmallDisk(testName: string, sizeMiB = 32): SmallDisk {
  const path = mkdtempSync(join(tmpdir(), `vf-${testName}-`));
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", path]);
  if (mount.exitCode !== 0) {
    rmSync(path, { recursive: true, force: true });
    throw new Error(
      `${testName} needs root to mount a ${sizeMiB} MiB tmpfs at ${path} (CI runs as root): ` +
        `mount exited ${mount.exitCode}: ${mount.stderr.toString().trim()}`,
    );
  }
  return {
    path,
    freeBytes: () => {
      const fs = statfsSync(path);
      return fs.bavail * fs.bsize;
    },
    remove: () => {
      Bun.spawnSync(["umount", path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export interface LogLine {
  msg: string;
  attempt?: number;
  reason?: string;
  err?: { message: string };
}

/** A worker's JSON log lines saying `msg`. */
export const linesSaying = (logs: string, msg: string): LogLine[] =>
  logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.msg === msg);
