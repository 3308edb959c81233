// What the worker does when the working file system is full. While it stays full without the failed
// attempt's files, that attempt is not counted (a retry on a full disk fails the same way): the job goes
// back to the queue for a moment and this worker takes no job until statfs shows room again. A job that
// fills a disk which has room once its files are gone needs more than there is: that attempt counts,
// and after the last one the video's error says "the media storage is full".
import { DelayedError, type Job, type Worker } from "bullmq";
import type { Logger } from "pino";
import type { TranscodeJob } from "../contract/transcode-jobs.ts";
import { isNoSpace, StorageFullError } from "../storage/no-space.ts";
import type { TranscoderConfig } from "./config.ts";
import { nearlyFull, SpaceWatch, workingDirectory } from "./storage-space.ts";

export interface HeldJob {
  job: Job<TranscodeJob>;
  token: string | undefined;
  log: Logger;
  /** What the attempt failed with: its message stays in the StorageFullError's unless it said no space. */
  failure?: unknown;
}

export interface StorageFullHandling {
  /** Whether the working file system is below its headroom now, once the idle source copies are gone. */
  isLow(): Promise<boolean>;
  /**
   * Whether an attempt failed for want of space: ENOSPC said so, or the file system is all but full
   * (under 1 MiB: FFmpeg may have lost writes without a word). Call it before the attempt's staging
   * goes. Merely being below the headroom says nothing about a failure: its own message stands.
   */
  explains(error: unknown): Promise<boolean>;
  /**
   * After the attempt's staging is gone: still full → the job is handed back uncounted and the worker
   * paused until space is back (throws DelayedError); room again → the StorageFullError to count.
   */
  holdOrFail(held: HeldJob): Promise<StorageFullError>;
  stop(): void;
}

export function storageFullHandling(deps: {
  config: Pick<TranscoderConfig, "storage" | "scratchDir" | "minFreeBytes" | "spacePollSeconds">;
  log: Logger;
  /** The worker to pause and resume (built after this). */
  worker: () => Worker;
  /** Frees what nobody uses on the working disk at once (the source cache's idle copies); the bytes freed. */
  reclaim?: () => Promise<number>;
}): StorageFullHandling {
  const { config, log } = deps;
  const path = workingDirectory(config);
  const pollMs = config.spacePollSeconds * 1000;
  const watch = new SpaceWatch({
    path,
    minFreeBytes: config.minFreeBytes,
    pollMs,
    pause: () => deps.worker().pause(true),
    resume: () => void deps.worker().resume(),
    onWaiting: (free) =>
      log.warn(
        { path, free_bytes: free, min_free_bytes: config.minFreeBytes },
        "the media storage is full: not taking jobs until space is back",
      ),
    onResumed: (free) => log.info({ path, free_bytes: free }, "media storage has space again: taking jobs"),
  });
  // Low only if it stays low once what nobody uses is gone: a disk filled by idle copies is not full.
  const isLow = async () =>
    (await watch.isLow()) && ((await (deps.reclaim?.() ?? 0)) === 0 || (await watch.isLow()));
  return {
    isLow,
    explains: async (error) => isNoSpace(error) || (await nearlyFull(path)),
    async holdOrFail({ job, token, log: jobLog, failure }) {
      const full = new StorageFullError(failure);
      // Without the lock's token the job cannot be moved: then it fails as an ordinary, counted attempt.
      if (!token || !(await isLow())) return full;
      await watch.holdUntilSpace();
      await job.moveToDelayed(Date.now() + pollMs, token);
      jobLog.warn({ reason: full.message }, "job handed back uncounted: the media storage is full");
      throw new DelayedError(full.message);
    },
    stop: () => watch.stop(),
  };
}
