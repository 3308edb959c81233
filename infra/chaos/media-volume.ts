// The media root of the chaos run: a small tmpfs, so that "the disk is full" is the kernel's ENOSPC and
// filling it takes one fallocate. Mounting needs root (CI runs as root); without it the run says so.
import { mkdirSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";

const FILLER = ".chaos-filler";

export class MediaVolume {
  private mounted = false;
  private fillers = 0;

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

  /**
   * Takes all but `leaveBytes` of the free space with allocated files (not sparse: tmpfs counts them).
   * Writers go on meanwhile (an upload streaming in), so what was free a moment ago may not be: a
   * refused allocation is retried smaller, and what is left over is taken by the next file.
   */
  fill(leaveBytes = 0): void {
    let want = this.freeBytes() - leaveBytes;
    for (let attempt = 0; attempt < 40 && want > 4096; attempt++) {
      const filler = join(this.root, `${FILLER}-${this.fillers++}`);
      const result = spawnSync(["fallocate", "-l", String(want), filler]);
      if (result.exitCode !== 0) {
        rmSync(filler, { force: true });
        want = Math.floor(want / 2);
        continue;
      }
      want = this.freeBytes() - leaveBytes;
    }
  }

  /** Gives the space taken by `fill` back. */
  release(): void {
    for (const name of readdirSync(this.root))
      if (name.startsWith(FILLER)) rmSync(join(this.root, name), { force: true });
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
