// A film's ladder as a flow of piece jobs, from the parent job's point of view: its first run adds the
// pieces and waits (BullMQ's WaitingChildrenError goes up through the pipeline to the worker); its
// second run stitches the pieces' files into the HLS tree, and the pipeline goes on as after a one-pass
// encode (verify, master playlist, MP4s, thumbnails, publish). The flow's scratch goes either way.
import type { Job, Queue } from "bullmq";
import type { MediaStorage } from "../../storage/index.ts";
import { InputError } from "../errors.ts";
import type { Rung } from "../ladder.ts";
import type { TranscodeLog } from "../log.ts";
import type { SourceFacts } from "../probe.ts";
import { stitchLadder } from "./encode.ts";
import { addPieces, collectFlow, piecesOf, waitForPieces } from "./flow.ts";
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
  chunks: readonly Chunk[];
  /** Where the stitched HLS tree goes (the attempt's staging). */
  outputDir: string;
  /** A folder of this attempt for the pieces' files fetched from a bucket (local storage reads in place). */
  workDir: string;
  signal?: AbortSignal;
  log?: TranscodeLog;
}

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

/** The flow a film's job planned, kept in its data so that its later runs find it again. */
const FLOW_FIELD = "flow";
export const flowOf = (job: Pick<Job, "data">): string | null => {
  const flow = (job.data as Record<string, unknown> | undefined)?.[FLOW_FIELD];
  return typeof flow === "string" ? flow : null;
};

/**
 * The first half, before any fast-start pass: the pieces are added (once per attempt) so that other
 * replicas start on them at once. Resolves "resumed" when they were added by an earlier run of the job:
 * the fast-start pass, if any, ran then.
 */
export async function startFilmFlow(input: FilmFlowInput): Promise<"planned" | "resumed"> {
  const { job } = input;
  if (flowOf(job) !== null) return "resumed";
  const flow = `a${Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1)}`;
  const scratchPrefix = `${flowScratchOf(job)}/${flow}`;
  const pieces = piecesOf(input.chunks, input.source.audio !== null);
  const { videoId, revision, sourceKey, segmentSeconds, preset } = input;
  const payload = { videoId, revision, sourceKey, scratchPrefix, segmentSeconds, preset };
  await addPieces(
    job,
    input.queue,
    flow,
    { ...payload, ladder: [...input.ladder], source: input.source },
    pieces,
  );
  await job.updateData({ ...job.data, [FLOW_FIELD]: flow });
  input.log?.info(
    { pieces: pieces.length, flow, scratch: scratchPrefix },
    "film cut into pieces for the farm",
  );
  return "planned";
}

/**
 * The second half: wait for the pieces (BullMQ's WaitingChildrenError goes up to the worker), then, on
 * the run after the last one, stitch their files into `outputDir`, or fail as the first failed piece says.
 */
export async function finishFilmFlow(input: FilmFlowInput): Promise<void> {
  const { job, storage } = input;
  const flow = flowOf(job);
  if (flow === null) throw new Error("the film's pieces were never added");
  await waitForPieces(job, input.token);
  const outcome = await collectFlow(job, flow);
  if (!outcome.ok) {
    await forgetFlow(storage, job);
    if (outcome.message.startsWith(PIECE_INPUT_FAULT)) {
      throw new InputError(outcome.message.slice(PIECE_INPUT_FAULT.length));
    }
    throw new Error(`a piece of the film failed: ${outcome.message}`);
  }
  try {
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
        segmentSeconds: input.segmentSeconds,
        durationSeconds: input.source.durationSeconds,
      },
      { signal: input.signal, log: input.log },
    );
  } finally {
    await storage.deletePrefix(flowScratchOf(job));
  }
}

/**
 * Drops the film's pieces and forgets its flow after its job failed or was given up before the stitch
 * (the source gone, a probe that failed): the worker's catch calls it as it drops the attempt's staging.
 */
export async function forgetFlow(storage: MediaStorage, job: Job): Promise<void> {
  // The pieces nobody started go; the running ones see the job move on and stop.
  if (flowOf(job) !== null) await job.removeUnprocessedChildren();
  await storage.deletePrefix(flowScratchOf(job));
  // A later attempt (a retry) plans a flow of its own instead of collecting this one's failure again.
  if (flowOf(job) !== null) await job.updateData({ ...job.data, [FLOW_FIELD]: undefined });
}

/** Every flow of a film's job keeps its pieces under this prefix (one folder per planning attempt). */
export const flowScratchOf = (job: Pick<Job, "id">) => `scratch/flows/${hex(job.id ?? "film")}`;
