// A full media file system is nobody's upload at fault: FFmpeg 5.1's HLS muxer even drops the writes
// that find no space without a word and exits 0, and the failure surfaced later as a broken playlist.
// This module recognises the condition (ENOSPC from our writes or FFmpeg's words, or a statfs of the
// working file system below the headroom) and holds the worker back until statfs says space is back.
// What a full disk is (StorageFullError, isNoSpace) is storage/no-space.ts's, shared with the api.
import { statfs } from "node:fs/promises";
import type { TranscoderConfig } from "./config.ts";

/**
 * Less than this left after an encode means its writes may have been refused: FFmpeg 5.1's HLS muxer
 * drops segments and playlists that find no space without a word, and exits 0.
 */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** Whether the file system holding `path` is (all but) full; false when statfs cannot tell. */
export async function nearlyFull(path: string): Promise<boolean> {
  return (await freeBytes(path).catch(() => Number.POSITIVE_INFINITY)) < NEARLY_FULL_BYTES;
}

/** Bytes an unprivileged process can still write on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const fs = await statfs(path);
  return Number(fs.bavail) * Number(fs.bsize);
}

/** The file system a job writes on: the media root itself (local staging), or the worker's scratch. */
export const workingDirectory = (config: Pick<TranscoderConfig, "storage" | "scratchDir">): string =>
  config.storage.kind === "local" ? config.storage.mediaRoot : config.scratchDir;

export interface SpaceWatchOptions {
  /** The working directory whose file system is watched. */
  path: string;
  /** Free bytes below which the file system counts as full. */
  minFreeBytes: number;
  pollMs: number;
  /** Pauses and resumes taking jobs (the BullMQ worker). */
  pause(): Promise<void>;
  resume(): void;
  onWaiting?(freeBytes: number): void;
  onResumed?(freeBytes: number): void;
}

/** Holds the worker back while the working file system is below its headroom; one watch at a time. */
export class SpaceWatch {
  private waiting: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: SpaceWatchOptions) {}

  /** Whether the file system is below its headroom now (false when statfs cannot tell). */
  async isLow(): Promise<boolean> {
    const free = await freeBytes(this.options.path).catch(() => Number.POSITIVE_INFINITY);
    return free < this.options.minFreeBytes;
  }

  /** Pauses taking jobs and polls statfs until the headroom is back; resolves once paused. */
  async holdUntilSpace(): Promise<void> {
    if (this.waiting) return;
    await this.options.pause();
    this.waiting = this.poll().finally(() => {
      this.waiting = null;
    });
  }

  /** Ends the watch (shutdown); the worker stays paused. */
  stop(): void {
    this.stopped = true;
  }

  private async poll(): Promise<void> {
    let free = await freeBytes(this.options.path).catch(() => 0);
    this.options.onWaiting?.(free);
    while (!this.stopped && free < this.options.minFreeBytes) {
      await Bun.sleep(this.options.pollMs);
      free = await freeBytes(this.options.path).catch(() => 0);
    }
    if (this.stopped) return;
    this.options.onResumed?.(free);
    this.options.resume();
  }
}
