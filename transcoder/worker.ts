import { join } from "node:path";
import {
  DelayedError,
  type Job,
  Queue,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
  Worker,
} from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { ConnectionErrorLog } from "../connections/error-log.ts";
import type { TranscodeResult } from "../contract/media.ts";
import type { TranscodeProgress } from "../contract/progress.ts";
import {
  TRANSCODE_QUEUE,
  type TranscodeJob,
  transcodeJobId,
  transcodeJobs,
  videoIdOfJob,
} from "../contract/transcode-jobs.ts";
import { flowAttemptOfFilmJob, PIECE_JOB_NAME } from "../contract/transcode-pieces.ts";
import type { MediaStorage } from "../storage/index.ts";
import { type AttemptRef, attemptLabel, LockLostError, type RunningAttempt } from "./attempt.ts";
import { dropFlowScratch, failIfFlowFailed, flowOf, forgetFlow, recordedPlanOf } from "./chunks/film-flow.ts";
import { DEFAULT_CHUNK_MIN_SECONDS, DEFAULT_CHUNK_SEGMENTS } from "./chunks/plan.ts";
import { filmFarmOf, pieceRunner } from "./chunks/worker-pieces.ts";
import type { TranscoderConfig } from "./config.ts";
import { InputError } from "./errors.ts";
import { fastStartStep } from "./fast-start/step.ts";
import type { RunningJob } from "./heartbeat.ts";
import type { HwAccelMode } from "./hwaccel/modes.ts";
import { LockWatchdog } from "./lock-watchdog.ts";
import { type PipelineProgress, transcode } from "./pipeline.ts";
import { TranscodeReporter } from "./reporter.ts";
import {
  type HeldSource,
  openSourceReader,
  SOURCE_CACHE_FOLDER,
  type SourceReadFrom,
} from "./source-cache.ts";
import { storageFullHandling } from "./storage-full.ts";

const PROGRESS_INTERVAL_MS = 250;
/** How long a claim waits while an earlier attempt of the same job still winds down in this process. */
const SAME_JOB_RETRY_MS = 1000;
const SOURCE_GONE = "The uploaded file is no longer there (the video was deleted or its file replaced).";

/**
 * How a job attempt ended: `ready`; `error` (bad input or a vanished source: not retried); `failed`
 * (anything else: retried while attempts remain); `handed_back` (stopped at shutdown, back in the queue);
 * `lost` (its lock lapsed and the job went to another attempt: dropped without a word).
 */
export type JobOutcome = "ready" | "error" | "failed" | "handed_back" | "lost";

export interface WorkerDeps {
  config: TranscoderConfig;
  /** BullMQ's blocking connection (maxRetriesPerRequest: null). */
  connection: Redis;
  /** A second connection for pub/sub publishing and keys. */
  redis: Redis;
  storage: MediaStorage;
  log: Logger;
  /** The acceleration that passed the start-up self-test. */
  hwaccel: HwAccelMode;
  /** The ladder's speed on this GPU measured at start-up (× real time), for FAST_START=auto; null: none. */
  gpuLadderSpeed?: number | null;
  /** Where the worker's and the reports queue's connection errors go (default: a throttled log of its own). */
  connectionErrors?: ConnectionErrorLog;
  /** Metrics hooks: a job was claimed; a job attempt ended (`mediaSeconds`: the source's length, when ready). */
  onJobStarted?: (job: Job<TranscodeJob>) => void;
  onJobFinished?: (
    outcome: JobOutcome,
    job: Job<TranscodeJob>,
    seconds: number,
    mediaSeconds?: number,
  ) => void;
  /** A rung was published without its progressive MP4 (its remux or check failed). */
  onMp4RemuxFailed?: () => void;
  /** An attempt began or ended here (runningJobs changed): the heartbeat tells the farm at once. */
  onRunningChanged?: () => void;
  /** A job read its source: from this replica's copy, or downloaded (source-cache.ts). */
  onSourceRead?: (from: SourceReadFrom, bytes: number) => void;
  /** The bytes of the source copies this replica keeps now. */
  onSourceCacheSize?: (bytes: number) => void;
}

export interface TranscodeWorker {
  worker: Worker<TranscodeJob, TranscodeResult | { key: string }>;
  /** The transcode queue as a producer (a film's pieces are added through it; the sweeps read it). */
  flowQueue: Queue;
  /** Whether `path` is the staging of an attempt this worker runs now (the sweeps leave those alone). */
  isRunningStaging(path: string): boolean;
  /** The attempts this worker runs now, for its heartbeat (those that lost their lock left out). */
  runningJobs(): RunningJob[];
  /** Stops taking jobs; the running ones get `graceMs` to finish, then are stopped and handed back. */
  close(graceMs: number): Promise<void>;
}

/** One BullMQ worker of the farm: claims transcode jobs, runs the pipeline, publishes, reports. */
export function startTranscodeWorker(deps: WorkerDeps): TranscodeWorker {
  const { config, storage, log } = deps;
  const reporter = new TranscodeReporter(deps.connection, deps.redis);
  const running = new Map<string, RunningAttempt>();
  let handingBack = false;
  const sources = openSourceReader({
    storage,
    dir: join(config.scratchDir, SOURCE_CACHE_FOLDER),
    maxBytes: config.sourceCache.maxBytes,
    idleMs: config.sourceCache.idleSeconds * 1000,
    onRead: (from, bytes) => hook(() => deps.onSourceRead?.(from, bytes)),
    onSize: (bytes) => hook(() => deps.onSourceCacheSize?.(bytes)),
  });
  const lockDurationMs = config.stalledIntervalSeconds * 1000;

  // BullMQ says the lock is gone (a renewal found another token, or none): whatever this attempt does
  // now would land on top of the attempt that holds the job. Its FFmpeg stops and it ends quietly.
  const lose = (jobId: string, why: string) => {
    const attempt = running.get(jobId);
    if (!attempt || attempt.lost) return;
    attempt.lost = true;
    log.warn({ job_id: jobId, video_id: videoIdOfJob(jobId), why }, "lost the job's lock: stopping FFmpeg");
    attempt.controller.abort(new LockLostError(jobId));
    attempt.lostNotice.resolve();
  };
  // Cut off from Redis no BullMQ event comes: the attempt's own clock on its lock stops it.
  const watchdog = new LockWatchdog({
    lockDurationMs,
    onLapsed: (jobId, silentMs) =>
      lose(jobId, `no lock renewal succeeded for ${(silentMs / 1000).toFixed(1)} s (the lock has expired)`),
  });

  // The hooks see every way out of `run`, thrown or returned, and never change the job's fate.
  const process = async (
    job: Job<TranscodeJob>,
    token?: string,
  ): Promise<TranscodeResult | { key: string }> => {
    const startedAt = performance.now();
    let outcome: JobOutcome = "failed";
    let mediaSeconds: number | undefined;
    hook(() => deps.onJobStarted?.(job));
    try {
      if (job.name === PIECE_JOB_NAME) {
        const piece = await runPiece(job, token);
        outcome = "ready";
        return piece;
      }
      const result = await run(job, token, startedAt);
      outcome = "ready";
      // A chunked film's last run only stitched: its wall time says nothing of the encode's speed.
      if (flowOf(job) === null) mediaSeconds = result.durationSeconds;
      return result;
    } catch (error) {
      // Waiting for its pieces counts as handed back: the job is not done and another run will finish it.
      if (
        error instanceof WaitingError ||
        error instanceof DelayedError ||
        error instanceof WaitingChildrenError
      )
        outcome = "handed_back";
      else if (error instanceof LockLostError) outcome = "lost";
      else if (error instanceof UnrecoverableError) outcome = "error";
      throw error;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      hook(() => deps.onJobFinished?.(outcome, job, seconds, mediaSeconds));
    }
  };

  const hook = (call: () => void) => {
    try {
      call();
    } catch (error) {
      log.warn({ err: error }, "job metrics hook failed");
    }
  };

  const run = async (job: Job<TranscodeJob>, token: string | undefined, startedAt: number) => {
    // A payload that does not match the contract cannot become valid by retrying: no video to report on.
    const checked = transcodeJobs.check(job.data);
    if (!checked.ok) {
      log.error({ job_id: job.id, reason: checked.reason }, "dropped a malformed transcode job");
      throw new UnrecoverableError(`Malformed transcode job: ${checked.reason}`);
    }
    const { videoId, revision, sourceKey, outputPrefix, fastStart: fastStartAllowed } = checked.value;
    const jobId = job.id ?? transcodeJobId(videoId, revision);
    const attemptNumber = job.attemptsMade + 1;
    const jobLog = log.child({ job_id: jobId, video_id: videoId, revision, attempt: attemptNumber });
    const seconds = () => (performance.now() - startedAt) / 1000;
    // An earlier attempt of this job still runs here (its lock lapsed, this worker took the job over):
    // BullMQ renews locks by job id, so the two would untrack each other's lock and a lose() would hit
    // both. The job waits until the earlier one has wound down.
    if (running.has(jobId) && token) {
      await job.moveToDelayed(Date.now() + SAME_JOB_RETRY_MS, token);
      jobLog.info("job claimed while its earlier attempt winds down here: handed back for a moment");
      throw new DelayedError();
    }
    jobLog.info("job claimed");
    // No room to write: hand the job back before doing anything (storage-full.ts).
    if (await storageFull.isLow()) await storageFull.holdOrFail({ job, token, log: jobLog });
    // The job history numbers every run of the job (BullMQ's attemptsStarted: retries, takeovers,
    // hand-backs and an admin's retry all count on), so no two runs of a revision share a number. A
    // film's runs after the one that planned its flow (the stitch, a wake that waits again, a takeover)
    // carry on that attempt, planner's name and all: the history shows the film's encode across the farm
    // as one attempt, not as one "interrupted" by each run of its job (a retry plans a flow of its own).
    const resumedAttempt = flowAttemptOfFilmJob(job.data);
    const attemptRef = resumedAttempt ?? {
      attempt: Math.max(job.attemptsStarted ?? 0, attemptNumber),
      worker: config.workerName,
    };
    // The attempt a resumed run carries on was reported started by the run that planned it.
    if (!resumedAttempt)
      await reporter.report({ type: "processing", videoId, revision, ...attemptRef, at: now() });

    // The source goes away when the video is deleted or its file replaced while the job waited.
    if (!(await storage.stat(sourceKey))) {
      const message = SOURCE_GONE;
      await forgetFlow(storage, job);
      await reporter.report({ type: "error", videoId, revision, ...attemptRef, message, at: now() });
      jobLog.warn("job dropped: its source file is gone");
      throw new UnrecoverableError(message);
    }
    // Staging of this attempt alone: an earlier attempt's (a dead worker's, or one whose lock lapsed
    // and may still be running) is never touched here; the staging sweeps take it once its lock is gone.
    const self: AttemptRef = { jobId, token: token ?? "" };
    const attemptStaging = {
      output: attemptLabel(self, "output"),
      source: attemptLabel(self, "source"),
      fast: attemptLabel(self, "fast"),
    };
    const controller = new AbortController();
    const attempt: RunningAttempt = {
      job: { jobId, videoId, revision, attempt: attemptRef.attempt, startedAt: new Date().toISOString() },
      controller,
      lost: false,
      lostNotice: Promise.withResolvers<void>(),
      staging: new Set(),
    };
    running.set(jobId, attempt);
    watchdog.watch(jobId);
    hook(() => deps.onRunningChanged?.());
    const dropStaging = async () => {
      await storage.discardStaging(attemptStaging.output);
      await storage.discardStaging(attemptStaging.source);
      await storage.discardStaging(attemptStaging.fast);
    };
    // Before anything the new holder could see (a published tree, a report): still ours? Extending the
    // lock is the check (atomic on the token) and gives the next step a full lock period. Cut off from
    // Redis the call waits for the link; the watchdog ends that wait once the lock has expired.
    const stillHeld = async () => {
      const extended =
        attempt.lost || !token
          ? 0
          : await Promise.race([
              job.extendLock(token, lockDurationMs),
              attempt.lostNotice.promise.then(() => 0),
            ]);
      if (attempt.lost || extended !== 1) {
        attempt.lost = true;
        throw new LockLostError(jobId);
      }
      watchdog.renewed(jobId);
    };
    const staging = await storage.createStagingDir(attemptStaging.output);
    attempt.staging.add(staging);
    let source: HeldSource | undefined;
    // Lets this job's hold on the source copy go (once): kept for a film's pieces and next run, else
    // dropped unless another job here reads it. A failure to remove it is logged, never the job's fate.
    const releaseSource = async (keep: boolean) => {
      const held = source;
      source = undefined;
      await held
        ?.release({ keep })
        .catch((error) => jobLog.warn({ err: error }, "the source copy was not released"));
    };
    let lastTick = 0;
    const report = (tick: PipelineProgress, force = false) => {
      if (attempt.lost) return; // the holder's ticks are the ones clients should see
      const at = Date.now();
      if (!force && at - lastTick < PROGRESS_INTERVAL_MS) return;
      lastTick = at;
      const { order, ...sent } = tick;
      const progress: TranscodeProgress = { videoId, revision, attempt: attemptRef.attempt, ...sent };
      void reporter
        .progress(progress, order)
        .catch((error) => jobLog.warn({ err: error }, "progress report failed"));
      void job.updateProgress(progress).catch(() => {});
    };

    try {
      // A film's run woken by a piece that failed for good fails now, before the download and probe.
      await failIfFlowFailed(storage, job);
      // Object storage: the source comes into this worker's scratch first, or from the copy a piece
      // or an earlier run left here (local: read where it is).
      const sourceDir =
        storage.kind === "s3" ? await storage.createStagingDir(attemptStaging.source) : staging;
      attempt.staging.add(sourceDir);
      source = await sources.hold(sourceKey, {
        dir: sourceDir,
        // A film's resumed run stays quiet: its pieces' ticks (near the encoding's end) are the progress.
        onProgress: flowOf(job) === null ? transferProgress("downloading", [0, 1], report) : undefined,
        signal: controller.signal,
        log: jobLog,
      });
      const sourcePath = source.path;
      const result = await transcode({
        sourcePath,
        outputDir: staging,
        ladderHeights: config.ladderHeights,
        segmentSeconds: config.segmentSeconds,
        preset: config.preset,
        hwaccel: deps.hwaccel,
        limits: config.sourceLimits,
        encodeTimeout: config.encodeTimeout,
        signal: controller.signal,
        log: jobLog,
        onProgress: (tick) => report(tick, tick.stage !== "encoding" && tick.stage !== "fast-start"),
        fastStart: fastStartStep({
          config,
          storage,
          hwaccel: deps.hwaccel,
          gpuLadderSpeed: deps.gpuLadderSpeed ?? null,
          allowedByJob: fastStartAllowed === true,
          videoId,
          revision,
          sourcePath,
          stagingLabel: attemptStaging.fast,
          onStaging: (dir) => attempt.staging.add(dir),
          // Still ours, and still wanted: a deleted or replaced video's source is gone.
          beforePublish: async () => {
            await stillHeld();
            if (!(await storage.stat(sourceKey))) throw new InputError(SOURCE_GONE);
          },
          onPlayable: async (playable) => {
            await stillHeld();
            await reporter.report({ type: "playable", videoId, revision, at: now(), ...playable });
          },
          signal: controller.signal,
          log: jobLog,
        }),
        onMp4RemuxFailed: () => hook(() => deps.onMp4RemuxFailed?.()),
        // A flow recorded by an earlier run is stitched as planned, even where this replica has
        // CHUNKING off or other chunk settings (its minimum and size are then unused).
        chunking:
          config.chunking || recordedPlanOf(job)
            ? {
                ...(config.chunking ?? {
                  minSeconds: DEFAULT_CHUNK_MIN_SECONDS,
                  segments: DEFAULT_CHUNK_SEGMENTS,
                }),
                scratchDir: join(sourceDir, "chunks"),
                farm: filmFarm({
                  job,
                  token,
                  videoId,
                  revision,
                  sourceKey,
                  outputDir: staging,
                  workDir: sourceDir,
                  jobLog,
                  signal: controller.signal,
                  recorded: recordedPlanOf(job),
                  historyAttempt: attemptRef,
                }),
              }
            : undefined,
      });
      await stillHeld();
      if (storage.kind === "s3") {
        await storage.publishDirectory(
          staging,
          outputPrefix,
          transferProgress("uploading", [99, 99.9], report),
          controller.signal,
        );
        report({ stage: "publishing", percent: 99.9, etaSeconds: 0 }, true);
      } else {
        report({ stage: "publishing", percent: 99, etaSeconds: 1 }, true);
        await storage.publishDirectory(staging, outputPrefix);
      }
      await storage.discardStaging(attemptStaging.source);
      await stillHeld();
      await reporter.report({ type: "ready", videoId, revision, ...attemptRef, result, at: now() });
      jobLog.info({ seconds: seconds(), media_seconds: result.durationSeconds }, "job ready");
      // Only now: a run handed back or taken over before this point still collects the flow's pieces.
      if (flowOf(job)) {
        await dropFlowScratch(storage, job).catch((error) =>
          jobLog.warn({ err: error }, "the flow's scratch was not removed"),
        );
      }
      return result;
    } catch (error) {
      if (error instanceof WaitingChildrenError) {
        // The film's pieces run on the farm; the job comes back when the last one is done. Its source
        // stays here for the pieces this replica takes and for that run.
        await releaseSource(true);
        await dropStaging();
        jobLog.info({ seconds: seconds() }, "waiting for the film's pieces");
        throw error;
      }
      // Measured before the staging goes: a disk this attempt filled shows only now.
      const outOfSpace = await storageFull.explains(error);
      await dropStaging();
      // A full disk is judged once this job's copy is gone too (and the idle ones: storage-full.ts).
      await releaseSource(false);
      if (attempt.lost || error instanceof LockLostError) {
        jobLog.warn({ seconds: seconds() }, "attempt dropped: another attempt holds the job now");
        throw error instanceof LockLostError ? error : new LockLostError(jobId);
      }
      if (controller.signal.aborted && handingBack && token) {
        await job.moveToWait(token);
        jobLog.warn("shutdown grace period over: job handed back to the queue");
        throw new WaitingError();
      }
      // Ended here for good or to be retried: no later run collects this flow (a handed-back job's does).
      // Also before a full disk is judged (holdOrFail): with the local driver the flow's pieces are on
      // that disk, and keeping them while waiting for room could wait forever for room they take.
      if (flowOf(job)) await forgetFlow(storage, job);
      if (error instanceof InputError) {
        await reporter.report({
          type: "error",
          videoId,
          revision,
          ...attemptRef,
          message: error.message,
          at: now(),
        });
        jobLog.warn({ reason: error.message }, "job refused: bad input");
        throw new UnrecoverableError(error.message);
      }
      // Uncounted while the storage stays full (holdOrFail throws); else an attempt like any other.
      const failure = outOfSpace
        ? await storageFull.holdOrFail({ job, token, log: jobLog, failure: error })
        : error;
      const message = failure instanceof Error ? failure.message : String(failure);
      const attempts = job.opts.attempts ?? 1;
      const held = await stillHeld().then(
        () => true,
        () => false,
      );
      if (held && attemptNumber >= attempts) {
        await reporter.report({
          type: "error",
          videoId,
          revision,
          ...attemptRef,
          message: `Transcoding failed after ${attempts} attempt${attempts > 1 ? "s" : ""}: ${message}`,
          at: now(),
        });
      } else if (held) {
        // The queue tries again: the job's history keeps why this attempt failed.
        await reporter.report({ type: "failed", videoId, revision, ...attemptRef, message, at: now() });
      }
      jobLog.error({ err: failure, attempts }, "job attempt failed");
      throw failure;
    } finally {
      // Published, failed or to be retried anywhere: this job needs the copy no more.
      await releaseSource(false);
      // Defensive: a later attempt of the same job never starts here while this one runs (see the claim).
      if (running.get(jobId) === attempt) {
        running.delete(jobId);
        watchdog.unwatch(jobId);
        hook(() => deps.onRunningChanged?.());
      }
    }
  };

  // The film's pieces are jobs of this queue too (transcoder/chunks/): added by a film's job, run here.
  const flowQueue = new Queue(TRANSCODE_QUEUE, { connection: deps.redis });
  const filmFarm = filmFarmOf({
    queue: flowQueue,
    storage,
    config,
    redis: deps.redis,
    hwaccel: deps.hwaccel,
  });
  const runPiece = pieceRunner({
    config,
    storage,
    sources,
    queue: flowQueue,
    redis: deps.redis,
    reporter,
    hwaccel: deps.hwaccel,
    log,
    running,
    watchdog,
    handingBack: () => handingBack,
    onRunningChanged: () => hook(() => deps.onRunningChanged?.()),
  });

  const storageFull = storageFullHandling({
    config,
    log,
    worker: () => worker,
    reclaim: () => sources.dropIdle(),
  });

  const worker = new Worker<TranscodeJob, TranscodeResult | { key: string }>(TRANSCODE_QUEUE, process, {
    connection: deps.connection,
    concurrency: config.concurrency,
    name: config.workerName,
    // The lock is renewed every lockDuration/2 while the job runs; a dead worker's job is taken over
    // by another replica after the stalled check notices the lapsed lock.
    lockDuration: lockDurationMs,
    stalledInterval: config.stalledIntervalSeconds * 1000,
    maxStalledCount: 2,
  });
  // Throttled JSON lines: BullMQ would print an error nobody listens to as a stack on stderr.
  const connectionErrors = deps.connectionErrors ?? new ConnectionErrorLog(log);
  connectionErrors.watch(worker, `worker ${TRANSCODE_QUEUE}`);
  connectionErrors.watch(reporter.queue, `queue ${reporter.queue.name}`);
  connectionErrors.watch(flowQueue, `queue ${TRANSCODE_QUEUE} (a film's pieces)`);
  worker.on("locksRenewed", ({ jobIds }) => {
    for (const jobId of jobIds) watchdog.renewed(jobId);
  });
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const jobId of jobIds) lose(jobId, "lock renewal failed");
  });
  // A job whose worker stopped renewing its lock: this worker's stall check moved it back to wait, for
  // any worker to take. When that worker is this one (Redis was out of reach longer than the lock),
  // its own attempt is over.
  worker.on("stalled", (jobId, previous) => {
    log.warn(
      { job_id: jobId, video_id: videoIdOfJob(jobId), previous },
      "job stalled: its worker stopped renewing the lock",
    );
    lose(jobId, "stalled");
  });

  return {
    worker,
    flowQueue,
    isRunningStaging: (path) =>
      sources.owns(path) || [...running.values()].some((attempt) => attempt.staging.has(path)),
    runningJobs: () => [...running.values()].filter((attempt) => !attempt.lost).map((attempt) => attempt.job),
    async close(graceMs: number) {
      storageFull.stop();
      const closing = worker.close();
      const timer = setTimeout(() => {
        if (running.size === 0) return;
        handingBack = true;
        log.warn({ jobs: [...running.keys()] }, "grace period over: stopping FFmpeg and handing jobs back");
        for (const attempt of running.values()) attempt.controller.abort();
      }, graceMs);
      await closing;
      clearTimeout(timer);
      watchdog.stop();
      await flowQueue.close();
      await reporter.close();
      await sources.close();
    },
  };
}

const now = () => new Date().toISOString();

/**
 * Progress of a transfer (download of the source, upload of the outputs) as ticks of `stage`, spread
 * over `slice` of the job's percent, with an ETA from the rate so far.
 */
function transferProgress(
  stage: "downloading" | "uploading",
  slice: readonly [number, number],
  report: (tick: PipelineProgress, force?: boolean) => void,
) {
  const startedAt = performance.now();
  return (done: number, total: number) => {
    const share = total > 0 ? done / total : 1;
    const elapsed = (performance.now() - startedAt) / 1000;
    const etaSeconds =
      share > 0 && share < 1 ? Math.ceil((elapsed / share) * (1 - share)) : share >= 1 ? 0 : null;
    report({ stage, percent: slice[0] + (slice[1] - slice[0]) * share, etaSeconds }, share >= 1);
  };
}
