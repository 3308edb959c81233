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
import { collectFlow, flowStarted, piecesOf, startFlow } from "./flow.ts";
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

export async function runFilmFlow(input: FilmFlowInput): Promise<void> {
  const { job, storage } = input;
  if (!(await flowStarted(job))) {
    const attempt = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1);
    const scratchPrefix = `${flowScratchOf(job)}/a${attempt}`;
    const pieces = piecesOf(input.chunks, input.source.audio !== null);
    input.log?.info({ pieces: pieces.length, scratch: scratchPrefix }, "film cut into pieces for the farm");
    const { videoId, revision, sourceKey, segmentSeconds, preset } = input;
    const source = { ...input.source, demuxer: input.source.demuxer };
    const ladder = [...input.ladder];
    await startFlow(
      job,
      input.token,
      input.queue,
      { videoId, revision, sourceKey, scratchPrefix, ladder, segmentSeconds, preset, source },
      pieces,
    );
  }
  const outcome = await collectFlow(job);
  if (!outcome.ok) {
    await storage.deletePrefix(flowScratchOf(job));
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
 * Drops the film's pieces after its job failed or was given up before the stitch (the source gone, a
 * probe that failed): the worker's catch calls it as it drops the attempt's staging.
 */
export async function dropFlowScratch(storage: MediaStorage, job: Pick<Job, "id">): Promise<void> {
  await storage.deletePrefix(flowScratchOf(job));
}

/** Every flow of a film's job keeps its pieces under this prefix (one folder per planning attempt). */
export const flowScratchOf = (job: Pick<Job, "id">) => `scratch/flows/${hex(job.id ?? "film")}`;
