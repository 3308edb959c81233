// A film's ladder as a flow of piece jobs, from the parent job's point of view: its first run adds the
// pieces and waits (BullMQ's WaitingChildrenError goes up through the pipeline to the worker); its
// second run stitches the pieces' files into the HLS tree, and the pipeline goes on as after a one-pass
// encode (verify, master playlist, MP4s, thumbnails, publish). The flow's scratch goes once the film is
// reported ready (dropFlowScratch) or when the flow is forgotten: never on a run that was handed back
// or lost its lock, whose flow a later run still collects.
import { randomBytes } from "node:crypto";
import type { Job, Queue } from "bullmq";
import {
  type FilmEncoder,
  type FlowAttempt,
  filmJobDataWithFlow,
  filmJobDataWithoutFlow,
  flowOfFilmJob,
  flowPlanOfFilmJob,
  type RecordedFlowPlan,
} from "../../contract/transcode-pieces.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { InputError } from "../errors.ts";
import type { Rung } from "../ladder.ts";
import type { TranscodeLog } from "../log.ts";
import type { SourceFacts } from "../probe.ts";
import { stitchLadder } from "./encode.ts";
import { addPieces, collectFlow, failureOfFlow, hasPieces, piecesOf, waitForPieces } from "./flow.ts";
import { PIECE_INPUT_FAULT } from "./piece-job.ts";
import type { Chunk } from "./plan.ts";

export interface FilmFlowInput {
  job: Job;
  token: string;
  queue: Queue;
  storage: MediaStorage;
  videoId: number;
  revision: number;
  sourceKey: string;
  source: SourceFacts;
  ladder: readonly Rung[];
  segmentSeconds: number;
  preset: string;
  /** The film's video encoder (film-encoder.ts), asked only when the flow is planned. */
  encoder: () => Promise<FilmEncoder>;
  chunks: readonly Chunk[];
  /** Where the stitched HLS tree goes (the attempt's staging). */
  outputDir: string;
  /** A folder of this attempt for the pieces' files fetched from a bucket (local storage reads in place). */
  workDir: string;
  signal?: AbortSignal;
  log?: TranscodeLog;
  /** Run once the flow is recorded, before its pieces are added (the fast-start pass's mark). */
  beforePieces?: () => Promise<void>;
  /**
   * Run when a later run adds the pieces its planning run never did: that run's fast-start pass, if
   * marked, will not run now (the pieces' ticks would count it at 0 % until the stitch).
   */
  onLatePieces?: () => Promise<void>;
  /** The job history's attempt of the planning run, recorded with the flow for the runs after it. */
  historyAttempt: FlowAttempt;
}

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

/** The flow a film's job planned, kept in its data so that its later runs (and its pieces) find it. */
export const flowOf = (job: Pick<Job, "data">): string | null => flowOfFilmJob(job.data);
/** The ladder, segment length and chunks the flow was planned with (null without a recorded flow). */
export const recordedPlanOf = (job: Pick<Job, "data">): RecordedFlowPlan | null =>
  flowOf(job) === null ? null : flowPlanOfFilmJob(job.data);

/**
 * A flow id of its own for every planning: the api may add a job with the same id again (a reconcile,
 * a retry after the history was trimmed), and an attempt count restarts then; a repeated id would
 * attach the old flow's pieces (finished into deleted scratch, or failed) to the new one.
 */
const newFlowId = () => `f${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;

/**
 * The first half, before any fast-start pass: the pieces are added (once per attempt) so that other
 * replicas start on them at once. Resolves "resumed" when they were added by an earlier run of the job:
 * the fast-start pass, if any, ran then.
 */
export async function startFilmFlow(input: FilmFlowInput): Promise<"planned" | "resumed"> {
  const { job } = input;
  if (flowOf(job) !== null) return "resumed";
  const flow = newFlowId();
  // Recorded before the pieces exist: a piece is wanted only while its parent's data names its flow
  // (a crash in between leaves a flow without pieces, which the next run adds: finishFilmFlow).
  const plan: RecordedFlowPlan = {
    ladder: [...input.ladder],
    segmentSeconds: input.segmentSeconds,
    chunks: input.chunks.map(({ index, startSeconds, endSeconds }) => ({ index, startSeconds, endSeconds })),
  };
  await job.updateData(filmJobDataWithFlow(job.data, flow, plan, input.historyAttempt));
  await input.beforePieces?.();
  await addFlowPieces(input, flow, "film cut into pieces for the farm");
  return "planned";
}

/** Adds flow `flow`'s pieces (queue.addBulk: all of them or none) as children of the film's job. */
async function addFlowPieces(input: FilmFlowInput, flow: string, logged: string): Promise<void> {
  const { job, videoId, revision, sourceKey, preset } = input;
  const scratchPrefix = `${flowScratchOf(job)}/${flow}`;
  const pieces = piecesOf(input.chunks, input.source.audio !== null);
  // The flow's own segment length (a resumed run's replica may be set otherwise).
  const segmentSeconds = recordedPlanOf(job)?.segmentSeconds ?? input.segmentSeconds;
  const encoder = await input.encoder();
  const payload = { videoId, revision, sourceKey, scratchPrefix, segmentSeconds, preset, encoder };
  await addPieces(
    job,
    input.queue,
    flow,
    { ...payload, ladder: [...input.ladder], source: input.source },
    pieces,
  );
  input.log?.info({ pieces: pieces.length, flow, scratch: scratchPrefix, encoder }, logged);
}

/**
 * The second half: wait for the pieces (BullMQ's WaitingChildrenError goes up to the worker), then, on
 * the run after the last one, stitch their files into `outputDir`, or fail as the first failed piece says.
 */
export async function finishFilmFlow(input: FilmFlowInput): Promise<void> {
  const { job, storage } = input;
  const flow = flowOf(job);
  if (flow === null) throw new Error("the film's pieces were never added");
  // A piece that failed for good fails the film now, whatever its siblings still do: BullMQ's
  // moveToWaitingChildren looks at pending dependencies only and would wait for all of them.
  await failIfFlowFailed(storage, job);
  // A run that recorded the flow and died (or was handed back) before its pieces were added: they are
  // added now, from the recorded plan, instead of the attempt failing as missing a chunk.
  if (!(await hasPieces(job, flow))) {
    await input.onLatePieces?.();
    await addFlowPieces(input, flow, "film's pieces added by a later run: the planning run never added them");
  }
  // Pieces still pending (BullMQ woke the job for a piece of a forgotten flow, or for a failure
  // that came in meanwhile and is told on the next wake): back to waiting.
  await waitForPieces(job, input.token);
  const outcome = await collectFlow(job, flow);
  if (!outcome.ok) await failFilm(storage, job, outcome.message);
  else {
    const fetch = (key: string) => storage.fetchToLocal(key, input.workDir);
    const chunkPaths = [];
    for (const key of outcome.chunkKeys) chunkPaths.push(await fetch(key));
    const audioPath = outcome.audioKey ? await fetch(outcome.audioKey) : null;
    await stitchLadder(
      {
        chunkPaths,
        audioPath,
        outputDir: input.outputDir,
        ladder: input.ladder,
        // The flow's own: this replica's setting may differ from the one that planned it.
        segmentSeconds: recordedPlanOf(job)?.segmentSeconds ?? input.segmentSeconds,
        durationSeconds: input.source.durationSeconds,
      },
      { signal: input.signal, log: input.log },
    );
  }
}

/**
 * Fails the film at once when a piece of its recorded flow failed for good (the flow is forgotten, so
 * the running pieces stop): called before a resumed run downloads and probes the source again, and
 * before the job would wait for the other pieces. Nothing when no flow is recorded or none failed.
 */
export async function failIfFlowFailed(storage: MediaStorage, job: Job): Promise<void> {
  const flow = flowOf(job);
  if (flow === null) return;
  const failure = await failureOfFlow(job, flow);
  if (failure !== null) await failFilm(storage, job, failure);
}

async function failFilm(storage: MediaStorage, job: Job, message: string): Promise<never> {
  await forgetFlow(storage, job);
  if (message.startsWith(PIECE_INPUT_FAULT)) throw new InputError(message.slice(PIECE_INPUT_FAULT.length));
  throw new Error(`a piece of the film failed: ${message}`);
}

/** After the film was reported ready: its flow's pieces are no longer needed by any run. */
export async function dropFlowScratch(storage: MediaStorage, job: Pick<Job, "id">): Promise<void> {
  await storage.deletePrefix(flowScratchOf(job));
}

/**
 * Drops the film's pieces and forgets its flow after its job failed or was given up before the stitch
 * (the source gone, a probe that failed): the worker's catch calls it as it drops the attempt's staging.
 */
export async function forgetFlow(storage: MediaStorage, job: Job): Promise<void> {
  if (flowOf(job) !== null) {
    // First: the running pieces stop once their parent's data no longer names their flow, and a later
    // attempt (a retry) plans a flow of its own instead of collecting this one's failure again.
    await job.updateData(filmJobDataWithoutFlow(job.data));
    // The pieces nobody started go.
    await job.removeUnprocessedChildren();
  }
  await storage.deletePrefix(flowScratchOf(job));
}

/** The scratch prefix of the flow the job's data names now (its pieces' `scratchPrefix`). */
export const flowScratchPrefixOf = (job: Pick<Job, "id" | "data">) => `${flowScratchOf(job)}/${flowOf(job)}`;

/** Every flow of a film's job keeps its pieces under this prefix (one folder per planning attempt). */
export const flowScratchOf = (job: Pick<Job, "id">) => `scratch/flows/${hex(job.id ?? "film")}`;
