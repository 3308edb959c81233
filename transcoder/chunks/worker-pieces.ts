// The worker's two hooks into a film's flow: the farm a film's pipeline hands its chunks to (its job
// adds the pieces, waits, stitches), and the runner of one piece, tracked like any job of the worker:
// in its heartbeat, stopped when its lock is lost, handed back at shutdown, its ticks the film's progress.
import { DelayedError, type Job, type Queue, UnrecoverableError, WaitingError } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { PassProgress } from "../../contract/progress.ts";
import {
  type FilmEncoder,
  type FlowAttempt,
  type RecordedFlowPlan,
  transcodePieceJobs,
} from "../../contract/transcode-pieces.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { LockLostError, type RunningAttempt } from "../attempt.ts";
import type { TranscoderConfig } from "../config.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import type { LockWatchdog } from "../lock-watchdog.ts";
import type { FarmPlan, PipelineProgress } from "../pipeline.ts";
import { throttle } from "../progress.ts";
import type { TranscodeReporter } from "../reporter.ts";
import type { SourceReader } from "../source-cache.ts";
import { cutsFilmsHere, filmEncoderFor, pieceAccelerationHere } from "./film-encoder.ts";
import { finishFilmFlow, flowScratchPrefixOf, startFilmFlow } from "./film-flow.ts";
import { filmTick } from "./film-tick.ts";
import { recordFastStartProgress, recordPieceProgress } from "./flow-progress.ts";
import { runPieceJob } from "./piece-job.ts";

/** How long a piece claimed while its earlier attempt still winds down here waits. */
const SAME_JOB_RETRY_MS = 1000;

export interface FilmContext {
  job: Job;
  token: string | undefined;
  videoId: number;
  revision: number;
  sourceKey: string;
  /** The attempt's staging: the stitched tree goes there. */
  outputDir: string;
  /** Where pieces fetched from a bucket are put (local storage reads them in place). */
  workDir: string;
  jobLog: Logger;
  signal: AbortSignal;
  /** The plan an earlier run of the job recorded with its flow (see film-flow.ts's recordedPlanOf). */
  recorded: RecordedFlowPlan | null;
  /** This run's attempt in the job history: recorded with a flow it plans, for the runs after it. */
  historyAttempt: FlowAttempt;
}

/** The pipeline's `chunking.farm` of one film job. */
export function filmFarmOf(deps: {
  queue: Queue;
  storage: MediaStorage;
  config: TranscoderConfig;
  /** For the heartbeats of the farm online, which decide the film's encoder. */
  redis: Redis;
  hwaccel: HwAccelMode;
}) {
  return (context: FilmContext) => {
    // One read of the farm online per run: whether the film is cut here and its encoder agree.
    let encoder: Promise<FilmEncoder> | undefined;
    const filmEncoder = () => {
      encoder ??= filmEncoderFor(deps.redis, deps.hwaccel, context.jobLog);
      return encoder;
    };
    const input = (plan: FarmPlan) => ({
      ...plan,
      ...context,
      token: context.token ?? "",
      queue: deps.queue,
      storage: deps.storage,
      segmentSeconds: deps.config.segmentSeconds,
      preset: deps.config.preset,
      encoder: filmEncoder,
      log: context.jobLog,
    });
    // The film's fast-start pass, told through the flow's hash (flow-progress.ts): its ticks and the
    // pieces' then tell the same job percent and both passes.
    const fastStart = (source: FarmPlan["source"], pass: PassProgress | "skipped") =>
      recordFastStartProgress(
        deps.redis,
        { source, scratchPrefix: flowScratchPrefixOf(context.job) },
        pass,
        Date.now(),
      ).then(filmTick);
    return {
      start: (plan: FarmPlan & { fastStart?: boolean }) =>
        startFilmFlow({
          ...input(plan),
          // Marked before the pieces exist, so that their first ticks count the pass.
          beforePieces: plan.fastStart
            ? () => fastStart(plan.source, { percent: 0, etaSeconds: null }).then(() => {})
            : undefined,
        }),
      finish: (plan: FarmPlan) =>
        finishFilmFlow({
          ...input(plan),
          onLatePieces: () => fastStart(plan.source, "skipped").then(() => {}),
        }),
      fastStartProgress: (plan: FarmPlan, pass: PassProgress | "skipped"): Promise<PipelineProgress> =>
        fastStart(plan.source, pass),
      recorded: context.recorded,
      // CHUNKING=auto: an NVENC replica keeps its films whole while the farm runs CPU replicas too
      // (a CPU replica always cuts: it answers without reading the heartbeats).
      cutsFilm: async () =>
        !deps.config.chunking?.nvencFilmsWholeOnMixedFarm ||
        deps.hwaccel !== "nvenc" ||
        cutsFilmsHere(deps.hwaccel, await filmEncoder()),
    };
  };
}

export interface PieceRunnerDeps {
  config: TranscoderConfig;
  storage: MediaStorage;
  /** How a piece reads the film's source (this replica's copy on object storage). */
  sources: SourceReader;
  queue: Queue;
  /** For the film's progress hash. */
  redis: Redis;
  reporter: TranscodeReporter;
  hwaccel: HwAccelMode;
  log: Logger;
  /** The worker's attempts (the heartbeat lists them, a lost lock aborts them). */
  running: Map<string, RunningAttempt>;
  watchdog: LockWatchdog;
  handingBack: () => boolean;
  onRunningChanged: () => void;
}

/** Runs one piece of a film (chunks/piece-job.ts) as an attempt of this worker. */
export function pieceRunner(deps: PieceRunnerDeps) {
  const { running, watchdog, reporter, log } = deps;
  return async (job: Job, token: string | undefined): Promise<{ key: string }> => {
    const checked = transcodePieceJobs.check(job.data);
    if (!checked.ok) throw new UnrecoverableError(`Malformed piece job: ${checked.reason}`);
    const piece = checked.value;
    const jobId = job.id ?? "";
    if (running.has(jobId) && token) {
      await job.moveToDelayed(Date.now() + SAME_JOB_RETRY_MS, token);
      throw new DelayedError();
    }
    // The film's encoder, not this replica's: a piece it cannot encode goes back to the queue.
    const hwaccel = await pieceAccelerationHere(job, token, piece.encoder, {
      redis: deps.redis,
      hwaccel: deps.hwaccel,
      log,
    });
    const { videoId, revision } = piece;
    const number = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1);
    const jobLog = log.child({ job_id: jobId, video_id: videoId, revision, attempt: number });
    const controller = new AbortController();
    const attempt: RunningAttempt = {
      job: { jobId, videoId, revision, attempt: number, startedAt: new Date().toISOString() },
      controller,
      lost: false,
      lostNotice: Promise.withResolvers<void>(),
      staging: new Set(),
    };
    running.set(jobId, attempt);
    watchdog.watch(jobId);
    deps.onRunningChanged();
    // Every piece's tick says how far the whole film is (chunks/flow-progress.ts).
    const ticks = throttle((fraction: number) => {
      if (attempt.lost) return;
      void recordPieceProgress(deps.redis, piece, jobId, fraction, Date.now())
        .then((film) => {
          const { order, ...tick } = filmTick(film);
          return reporter.progress({ videoId, revision, ...tick }, order);
        })
        .catch((error) => jobLog.warn({ err: error }, "progress report failed"));
    }, 1);
    jobLog.info({ piece: piece.piece }, "piece started");
    try {
      return await runPieceJob(job, {
        storage: deps.storage,
        sources: deps.sources,
        queue: deps.queue,
        workDir: `${deps.config.scratchDir}/pieces`,
        hwaccel,
        encodeTimeout: deps.config.encodeTimeout,
        log: jobLog,
        signal: controller.signal,
        onProgress: (fraction) => ticks.tick(fraction, fraction >= 1),
      });
    } catch (error) {
      if (attempt.lost) throw new LockLostError(jobId);
      if (controller.signal.aborted && deps.handingBack() && token) {
        await job.moveToWait(token);
        jobLog.warn("shutdown grace period over: piece handed back to the queue");
        throw new WaitingError();
      }
      jobLog.warn({ err: error }, "piece failed");
      throw error;
    } finally {
      if (running.get(jobId) === attempt) {
        running.delete(jobId);
        watchdog.unwatch(jobId);
        deps.onRunningChanged();
      }
    }
  };
}
