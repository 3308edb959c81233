// The media root of the chaos run: a small tmpfs, so that "the disk is full" is the kernel's ENOSPC and
// filling it takes one fallocate. Mounting needs root (CI runs as root); without it the run says so.
import { mkdirSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";

const FILLER = ".chaos-filler";

export class MediaVolume {
  private mounted = false;

  private constructor(readonly root: string) {}

  /** Mounts a tmpfs of `megabytes` at `root`; throws with mount's own message when it cannot. */
  static mount(root: string, megabytes: number): MediaVolume {
    mkdirSync(root, { recursive: true });
    const mount = spawnSync(["mount", "-t", "tmpfs", "-o", `size=${megabytes}m`, "tmpfs", root]);
    if (mount.exitCode !== 0) {
      throw new Error(
        `the chaos suite needs root to mount a ${megabytes} MiB tmpfs at ${root}: ${mount.stderr.toString().trim()}`,
      );
    }
    const volume = new MediaVolume(root);
    volume.mounted = true;
    return volume;
  }

  /** Bytes an unprivileged writer can still put on the volume. */
  freeBytes(): number {
    const stats = statfsSync(this.root);
    return stats.bavail * stats.bsize;
  }

  /** Takes all but `leaveBytes` of the free space with one allocated file (not sparse: tmpfs counts it). */
  fill(leaveBytes = 0): void {
    const take = this.freeBytes() - leaveBytes;
    if (take <= 0) return;
    const result = spawnSync(["fallocate", "-l", String(take), join(this.root, FILLER)]);
    if (result.exitCode !== 0) throw new Error(`fallocate failed: ${result.stderr.toString().trim()}`);
  }

  /** Gives the space taken by `fill` back. */
  release(): void {
    rmSync(join(this.root, FILLER), { force: true });
  }

  unmount(): void {
    if (!this.mounted) return;
    this.release();
    const result = spawnSync(["umount", this.root]);
    // A process still holding a file open keeps it busy: detach it lazily rather than leave a mount.
    if (result.exitCode !== 0) spawnSync(["umount", "-l", this.root]);
    this.mounted = false;
    rmSync(this.root, { recursive: true, force: true });
  }
}
