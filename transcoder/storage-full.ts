// What the worker does when the working file system is full: the attempt is not counted (BullMQ's
// attempts are for faults a retry can fix, and a retry on a full disk fails the same way), the job goes
// back to the queue for a moment, and this worker stops taking jobs until statfs shows room again.
import { DelayedError, type Job, type Worker } from "bullmq";
import type { Logger } from "pino";
import type { TranscodeJob } from "../contract/transcode-jobs.ts";
import type { TranscoderConfig } from "./config.ts";
import { StorageFullError } from "./errors.ts";
import { bytesUnder, freeBytes, isNoSpace, SpaceWatch, workingDirectory } from "./storage-space.ts";

/** The working file system as a failed attempt left it, before its staging was discarded. */
export interface AttemptSpace {
  /** Below the headroom (TRANSCODER_MIN_FREE_MB). */
  low: boolean;
  freeBytes: number;
  /** What the attempt had written (its staging): at least that much must come back before a retry. */
  writtenBytes: number;
}

export interface HoldBack {
  job: Job<TranscodeJob>;
  token: string | undefined;
  log: Logger;
  space: AttemptSpace;
}

export interface StorageFullHandling {
  /** The free space now, and what `staging` holds (null: nothing written yet). */
  measure(staging: string | null): Promise<AttemptSpace>;
  /** Whether an attempt failed for want of space: ENOSPC said so, or statfs did when it failed. */
  explains(error: unknown, space: AttemptSpace): boolean;
  /** Hands the job back uncounted, pauses the worker until space is back; always throws. */
  handBack(attempt: HoldBack): Promise<never>;
  stop(): void;
}

export function storageFullHandling(deps: {
  config: Pick<TranscoderConfig, "storage" | "scratchDir" | "minFreeBytes" | "spacePollSeconds">;
  log: Logger;
  /** The worker to pause and resume (built after this). */
  worker: () => Worker;
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
    onWaiting: (free, needed) =>
      log.warn(
        { path, free_bytes: free, needed_bytes: needed },
        "the media storage is full: not taking jobs until space is back",
      ),
    onResumed: (free) => log.info({ path, free_bytes: free }, "media storage has space again: taking jobs"),
  });
  return {
    async measure(staging) {
      const [free, writtenBytes] = await Promise.all([
        freeBytes(path).catch(() => Number.POSITIVE_INFINITY),
        staging ? bytesUnder(staging) : 0,
      ]);
      return { low: free < config.minFreeBytes, freeBytes: free, writtenBytes };
    },
    explains: (error, space) => isNoSpace(error) || space.low,
    async handBack({ job, token, log: jobLog, space }) {
      const reason = new StorageFullError().message;
      // Without the lock's token the job cannot be moved: then it fails as an ordinary, counted attempt.
      if (!token) throw new StorageFullError();
      await watch.holdUntilSpace(space.writtenBytes);
      await job.moveToDelayed(Date.now() + pollMs, token);
      jobLog.warn(
        { reason, free_bytes: space.freeBytes, written_bytes: space.writtenBytes },
        "job handed back uncounted: the media storage is full",
      );
      throw new DelayedError(reason);
    },
    stop: () => watch.stop(),
  };
}
