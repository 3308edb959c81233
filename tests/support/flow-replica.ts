// A replica of the farm for the flow tests, in this process or in a child process of its own: one
// BullMQ worker on the test's queue whose processor does what the transcoder's worker does with each
// job name: a piece (runPieceJob), or a film (the pipeline with the farm's chunking, its scratch
// dropped when it fails, after it was reported ready). Every piece's end is told through `onPiece`.
import { join } from "node:path";
import { DelayedError, type Job, Queue, WaitingChildrenError, WaitingError, Worker } from "bullmq";
import Redis from "ioredis";
import { type FilmEncoder, PIECE_JOB_NAME, transcodePieceJobs } from "../../contract/transcode-pieces.ts";
import { LocalMediaStorage, type MediaStorage } from "../../storage/index.ts";
import { filmEncoderFor, pieceAccelerationHere } from "../../transcoder/chunks/film-encoder.ts";
import {
  dropFlowScratch,
  failIfFlowFailed,
  finishFilmFlow,
  flowOf,
  forgetFlow,
  recordedPlanOf,
  startFilmFlow,
} from "../../transcoder/chunks/film-flow.ts";
import { runPieceJob } from "../../transcoder/chunks/piece-job.ts";
import { planChunks } from "../../transcoder/chunks/plan.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";
import { silentLog } from "../../transcoder/log.ts";
import { type FarmPlan, transcode } from "../../transcoder/pipeline.ts";
import { probeSource } from "../../transcoder/probe.ts";

export const FLOW_SEGMENT_SECONDS = 2;
export const FLOW_CHUNKING = { minSeconds: 5, segments: 2 };
export const FLOW_PRESET = "ultrafast";

export interface FilmData {
  sourceKey: string;
  outputDir: string;
  /** Skip the pipeline (and its decode check) and run the flow straight on the probe. */
  flowOnly?: boolean;
  preset?: string;
  /**
   * Hand the film's job back once, as the worker does at shutdown or on its same-job guard:
   * "after-plan" delays it for 1.5 s right after its pieces were added, "after-stitch" puts it back
   * to waiting once its ladder was stitched (the next run collects the same flow again);
   * "before-pieces" delays it once its flow is recorded but before its pieces are added, leaving what a
   * planning run that died there leaves (the next run finds a flow without pieces).
   */
  handBack?: "after-plan" | "after-stitch" | "before-pieces";
  /**
   * Runs after the planning one act as a replica with other settings would: CHUNKING off, a 144p
   * ladder, 3 s segments (as the worker, a recorded flow is still stitched as it was planned).
   */
  otherSettingsWhenResumed?: boolean;
  /** Set by the replica once the job was handed back after its stitch. */
  handedBack?: boolean;
  /**
   * The encoder the film is planned with (default: what this replica's own acceleration chooses, here
   * libx264): "h264_nvenc" plans it as a replica with NVENC in an all-NVENC farm would.
   */
  encoder?: FilmEncoder;
}

export interface PieceEnd {
  worker: string;
  id: string;
  /** "done", or the message it failed with. */
  outcome: string;
}

export interface FlowReplica {
  worker: Worker;
  storage: MediaStorage;
  close(): Promise<void>;
}

export interface FlowReplicaOptions {
  name: string;
  redisUrl: string;
  queueName: string;
  mediaRoot: string;
  /** This replica's own working folder. */
  workDir: string;
  onPiece?: (end: PieceEnd) => void;
  /** A piece was claimed here (the kill test waits for it). */
  onPieceStarted?: (id: string) => void;
  /** Lock and stall check, ms (short in the kill test: a dead replica's piece is taken over soon). */
  lockMs?: number;
}

export function startFlowReplica(options: FlowReplicaOptions): FlowReplica {
  const { name, workDir } = options;
  const storage: MediaStorage = new LocalMediaStorage(options.mediaRoot);
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(options.queueName, { connection });

  const film = async (job: Job<FilmData>, token: string | undefined) => {
    const { sourceKey, outputDir } = job.data;
    // As the worker: a run woken by a piece that failed for good fails before the download.
    await failIfFlowFailed(storage, job);
    const sourcePath = await storage.fetchToLocal(sourceKey, workDir);
    const other = job.data.otherSettingsWhenResumed === true && flowOf(job) !== null;
    const segmentSeconds = other ? 3 : FLOW_SEGMENT_SECONDS;
    const recorded = recordedPlanOf(job);
    const flowInput = (plan: FarmPlan) => ({
      ...plan,
      job,
      token: token ?? "",
      queue,
      storage,
      videoId: 1,
      revision: 1,
      sourceKey,
      segmentSeconds,
      preset: job.data.preset ?? FLOW_PRESET,
      encoder: async () => job.data.encoder ?? (await filmEncoderFor(connection, "none")),
      outputDir,
      workDir: join(workDir, "flow"),
      historyAttempt: { attempt: Math.max(job.attemptsStarted ?? 0, 1), worker: "flow-replica" },
      beforePieces:
        job.data.handBack === "before-pieces" && !job.data.handedBack && token
          ? async () => {
              await job.updateData({ ...job.data, handedBack: true });
              await job.moveToDelayed(Date.now() + 500, token);
              throw new DelayedError();
            }
          : undefined,
    });
    const farm = {
      start: async (plan: FarmPlan) => {
        const started = await startFilmFlow(flowInput(plan));
        if (started === "planned" && job.data.handBack === "after-plan" && token) {
          await job.moveToDelayed(Date.now() + 1500, token);
          throw new DelayedError();
        }
        return started;
      },
      recorded,
      finish: (plan: FarmPlan) => finishFilmFlow(flowInput(plan)),
    };
    if (job.data.flowOnly) {
      const source = await probeSource(sourcePath);
      const chunks = planChunks(source.durationSeconds, {
        ...FLOW_CHUNKING,
        segmentSeconds: FLOW_SEGMENT_SECONDS,
      });
      const plan = { source, ladder: chooseLadder(source, { heights: [180] }), chunks: chunks ?? [] };
      await farm.start(plan);
      await farm.finish(plan);
      await dropFlowScratch(storage, job);
      return { ok: true };
    }
    await transcode({
      sourcePath,
      outputDir,
      ladderHeights: other ? [144] : [180],
      segmentSeconds,
      preset: job.data.preset ?? FLOW_PRESET,
      thumbnails: false,
      chunking:
        other && !recorded ? undefined : { ...FLOW_CHUNKING, scratchDir: join(workDir, "unused"), farm },
    });
    if (job.data.handBack === "after-stitch" && !job.data.handedBack && token) {
      await job.updateData({ ...job.data, handedBack: true });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    // The worker's ready report would come here.
    await dropFlowScratch(storage, job);
    return { ok: true };
  };

  const worker = new Worker(
    options.queueName,
    async (job, token) => {
      if (job.name !== PIECE_JOB_NAME) {
        try {
          return await film(job as Job<FilmData>, token);
        } catch (error) {
          // Handed back (delayed, waiting): the flow stays for the next run, as in the worker.
          const handedBack = error instanceof DelayedError || error instanceof WaitingError;
          if (!(error instanceof WaitingChildrenError) && !handedBack) await forgetFlow(storage, job);
          throw error;
        }
      }
      // As the worker: the film's encoder, which this CPU replica may not run (film-encoder.ts).
      const encoder = transcodePieceJobs.check(job.data).ok ? job.data.encoder : undefined;
      const hwaccel = await pieceAccelerationHere(job, token, encoder, {
        redis: connection,
        hwaccel: "none",
        log: silentLog,
      }).catch((error) => {
        options.onPiece?.({
          worker: name,
          id: job.id ?? "",
          outcome: (error as Error).message || error.name,
        });
        throw error;
      });
      options.onPieceStarted?.(job.id ?? "");
      try {
        const result = await runPieceJob(job, { storage, queue, workDir, parentCheckMs: 100, hwaccel });
        options.onPiece?.({ worker: name, id: job.id ?? "", outcome: "done" });
        return result;
      } catch (error) {
        options.onPiece?.({ worker: name, id: job.id ?? "", outcome: (error as Error).message });
        throw error;
      }
    },
    {
      connection,
      concurrency: 1,
      lockDuration: options.lockMs ?? 10_000,
      stalledInterval: options.lockMs ?? 10_000,
    },
  );
  return {
    worker,
    storage,
    async close() {
      await worker.close(true);
      await queue.close();
      connection.disconnect();
    },
  };
}

// Run as a child process (the kill test): a replica whose piece starts are printed on stdout.
if (import.meta.main) {
  const [redisUrl, queueName, mediaRoot, workDir, name] = process.argv.slice(2);
  const replica = startFlowReplica({
    name: name ?? "child",
    redisUrl: redisUrl!,
    queueName: queueName!,
    mediaRoot: mediaRoot!,
    workDir: workDir!,
    lockMs: 2000,
    onPieceStarted: (id) => console.log(`piece-started ${id}`),
    onPiece: (end) => console.log(`piece-ended ${end.id} ${end.outcome}`),
  });
  await replica.worker.waitUntilReady();
  console.log("ready");
}
