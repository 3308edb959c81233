// A replica of the farm for the flow tests, in this process or in a child process of its own: one
// BullMQ worker on the test's queue whose processor does what the transcoder's worker does with each
// job name: a piece (runPieceJob), or a film (the pipeline with the farm's chunking, its scratch
// dropped when it fails). Every piece's end is told through `onPiece`.
import { join } from "node:path";
import { type Job, Queue, WaitingChildrenError, Worker } from "bullmq";
import Redis from "ioredis";
import { PIECE_JOB_NAME } from "../../contract/transcode-pieces.ts";
import { LocalMediaStorage, type MediaStorage } from "../../storage/index.ts";
import { finishFilmFlow, forgetFlow, startFilmFlow } from "../../transcoder/chunks/film-flow.ts";
import { runPieceJob } from "../../transcoder/chunks/piece-job.ts";
import { planChunks } from "../../transcoder/chunks/plan.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";
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
    const sourcePath = await storage.fetchToLocal(sourceKey, workDir);
    const flowInput = (plan: FarmPlan) => ({
      ...plan,
      job,
      token: token ?? "",
      queue,
      storage,
      videoId: 1,
      revision: 1,
      sourceKey,
      segmentSeconds: FLOW_SEGMENT_SECONDS,
      preset: job.data.preset ?? FLOW_PRESET,
      outputDir,
      workDir: join(workDir, "flow"),
    });
    const farm = {
      start: (plan: FarmPlan) => startFilmFlow(flowInput(plan)),
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
      return { ok: true };
    }
    await transcode({
      sourcePath,
      outputDir,
      ladderHeights: [180],
      segmentSeconds: FLOW_SEGMENT_SECONDS,
      preset: job.data.preset ?? FLOW_PRESET,
      thumbnails: false,
      chunking: { ...FLOW_CHUNKING, scratchDir: join(workDir, "unused"), farm },
    });
    return { ok: true };
  };

  const worker = new Worker(
    options.queueName,
    async (job, token) => {
      if (job.name !== PIECE_JOB_NAME) {
        try {
          return await film(job as Job<FilmData>, token);
        } catch (error) {
          if (!(error instanceof WaitingChildrenError)) await forgetFlow(storage, job);
          throw error;
        }
      }
      options.onPieceStarted?.(job.id ?? "");
      try {
        const result = await runPieceJob(job, { storage, queue, workDir, parentCheckMs: 100 });
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
