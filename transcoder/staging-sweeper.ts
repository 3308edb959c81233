// The transcoder's periodic sweep of staging: an attempt's folders go once the job's lock no longer
// holds the attempt's token (its worker died, it failed on the stall limit, another worker took the
// job over) and nothing wrote to them for a lock period (a lost attempt's FFmpeg that still runs on a
// cut-off host is stopped by its own worker, not pulled from under it); folders no label explains go by
// age. Uploads are the api's.
import type { Queue } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { isUploadStaging, type MediaStorage, type Reclaimed, type StagingEntry } from "../storage/index.ts";
import { PeriodicSweep } from "../storage/periodic-sweep.ts";
import type { TranscoderReclaimedKind } from "../storage/reclaimed-metrics.ts";
import { attemptOfLabel } from "./attempt.ts";
import { sweepFlowScratch } from "./chunks/flow-scratch-sweep.ts";

/** What a sweep reclaimed, by kind (the `kind` label of `storage_reclaimed_*_total`). */
export type StagingSweep = Record<TranscoderReclaimedKind, Reclaimed>;

export interface StagingSweeperDeps {
  storage: MediaStorage;
  redis: Redis;
  /** The Redis key of a job's lock (BullMQ's `<prefix>:<queue>:<jobId>:lock`). */
  lockKeyOf: (jobId: string) => string;
  /**
   * Staging paths this process uses now (its attempts', which drop their own folders when they end; the
   * source cache's, which it empties itself): never swept.
   */
  isRunning: (path: string) => boolean;
  /** A dead attempt's folder must have been quiet this long (the lock duration). */
  quietMs: number;
  /** Any other folder must have been quiet this long (STAGING_MAX_IDLE_SECONDS). */
  maxIdleMs: number;
  log: Logger;
  onReclaimed?: (sweep: StagingSweep) => void;
  /** The transcode queue: with it, the flows' scratch no run collects goes too (chunks/flow-scratch-sweep.ts). */
  flowQueue?: Queue;
}

export class StagingSweeper {
  private readonly periodic: PeriodicSweep<StagingSweep>;

  constructor(private readonly deps: StagingSweeperDeps) {
    this.periodic = new PeriodicSweep(
      () => this.sweepOnce(),
      (error) => deps.log.error({ err: error }, "staging sweep failed"),
    );
  }

  /** One sweep now (one at a time: a sweep asked for while one runs gets that one's result). */
  sweep(): Promise<StagingSweep> {
    return this.periodic.now();
  }

  start(intervalMs: number): void {
    this.periodic.start(intervalMs);
  }

  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private async sweepOnce(): Promise<StagingSweep> {
    const outcome: StagingSweep = {
      attempt_staging: { items: 0, bytes: 0 },
      stale_staging: { items: 0, bytes: 0 },
      flow_scratch: { items: 0, bytes: 0 },
    };
    const doomed = async (entry: StagingEntry) => {
      const kind = await this.kindToReclaim(entry);
      if (!kind) return false;
      outcome[kind].items++;
      outcome[kind].bytes += entry.bytes;
      return true;
    };
    await this.deps.storage.sweepStaging(doomed);
    if (this.deps.flowQueue) {
      outcome.flow_scratch = await sweepFlowScratch({
        storage: this.deps.storage,
        queue: this.deps.flowQueue,
        maxIdleMs: this.deps.maxIdleMs,
      });
    }
    const total = outcome.attempt_staging.items + outcome.stale_staging.items + outcome.flow_scratch.items;
    if (total > 0) this.deps.log.info(outcome, "staging sweep removed folders");
    this.deps.onReclaimed?.(outcome);
    return outcome;
  }

  private async kindToReclaim(entry: StagingEntry): Promise<keyof StagingSweep | null> {
    const quietFor = Date.now() - entry.lastModified;
    // Live work of this process, whatever its label: an attempt's folders, the source cache (its copies
    // keep the time of their download however long a film's pieces read them).
    if (this.deps.isRunning(entry.path)) return null;
    const attempt = attemptOfLabel(entry.label);
    if (attempt) {
      if (quietFor < this.deps.quietMs) return null;
      // A lock that lapsed can never be renewed by its old token, so a mismatch is final; a Redis that
      // does not answer proves nothing, and the folder stays for the next sweep.
      const holder = await this.deps.redis.get(this.deps.lockKeyOf(attempt.jobId)).catch(() => undefined);
      return holder === undefined || holder === attempt.token ? null : "attempt_staging";
    }
    if (isUploadStaging(entry.label)) return null;
    return quietFor > this.deps.maxIdleMs ? "stale_staging" : null;
  }
}
