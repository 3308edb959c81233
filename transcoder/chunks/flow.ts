// The parent's side of a film's flow (BullMQ's parent/child jobs on the transcode queue). First run:
// the pieces are added as children of the video's job and the job waits for them. When the last one
// finishes (or the first one fails for good) the job runs again: it collects what the children
// returned, or the first failure (film-flow.ts then forgets the flow, which makes the running pieces
// stop: piece-job.ts watches its parent's data and failed hash). Stitching and publishing are the caller's, as for a one-pass job.
import { type Job, type Queue, WaitingChildrenError } from "bullmq";
import {
  isPieceKeyOfFlow,
  PIECE_JOB_NAME,
  type PieceOfFilm,
  pieceJobId,
  type TranscodePieceJob,
  transcodePieceResults,
} from "../../contract/transcode-pieces.ts";
import { PIECE_INPUT_FAULT, PIECE_NOT_WANTED } from "./piece-job.ts";
import type { Chunk } from "./plan.ts";

/**
 * Pieces wait behind every job without a priority (BullMQ serves those first): a short upload that
 * arrives while a film's 60 chunks queue starts at the next free replica, not after the film.
 */
export const PIECE_PRIORITY = 1000;
/** Tries of a piece that fails on this host (a killed replica's piece is taken over without using one). */
export const PIECE_ATTEMPTS = 3;

export interface FlowPlan {
  /** The scratch prefix of this attempt's flow: every piece's file lands under it. */
  scratchPrefix: string;
  pieces: PieceOfFilm[];
}

/** The pieces of a film: its sound (when it has one) first, then the chunks in film order. */
export function piecesOf(chunks: readonly Chunk[], hasAudio: boolean): PieceOfFilm[] {
  const video = chunks.map((chunk) => ({ kind: "chunk" as const, ...chunk }));
  return hasAudio ? [{ kind: "audio" }, ...video] : video;
}

/** Adds the pieces of flow `flow` as children of `parent`: any replica may take them from now on. */
export async function addPieces(
  parent: Job,
  queue: Queue,
  flow: string,
  payload: Omit<TranscodePieceJob, "piece" | "flow">,
  pieces: readonly PieceOfFilm[],
): Promise<void> {
  await queue.addBulk(
    pieces.map((piece) => ({
      name: PIECE_JOB_NAME,
      data: { ...payload, flow, piece } satisfies TranscodePieceJob,
      opts: {
        jobId: pieceJobId(parent.id ?? "", flow, piece),
        parent: { id: parent.id ?? "", queue: parent.queueQualifiedName },
        priority: PIECE_PRIORITY,
        attempts: PIECE_ATTEMPTS,
        backoff: { type: "exponential", delay: 1000 },
        // The first piece that fails for good wakes the parent, which fails the video and cancels the rest.
        continueParentOnFailure: true,
        // BullMQ keeps a finished child's return value (and a failed one's reason) in the parent's own
        // hashes, so the jobs themselves need not stay; they would pile up at 60 a film otherwise. A
        // failed piece kept as a job would also count in the farm's failed jobs and metrics, beside its
        // film's, with no video and no Retry: the film's failure carries its reason, the log its stack.
        removeOnComplete: true,
        removeOnFail: true,
      },
    })),
  );
}

/**
 * Whether any piece of flow `flow` was ever added to `parent`: pending, finished or failed (a finished
 * piece's job is removed, its value stays in the parent's processed hash). Pieces of an earlier flow of
 * the same job are left out by their ids.
 */
export async function hasPieces(parent: Job, flow: string): Promise<boolean> {
  const ofFlow = (childKey: string) => isPieceKeyOfFlow(childKey, parent.id ?? "", flow);
  const { processed, unprocessed, failed, ignored } = await parent.getDependencies();
  return [
    ...Object.keys(processed ?? {}),
    ...(unprocessed ?? []),
    ...(failed ?? []),
    ...Object.keys(ignored ?? {}),
  ].some(ofFlow);
}

/**
 * Moves the parent to waiting-children: throws BullMQ's WaitingChildrenError (the worker lets it
 * through) unless every piece has finished already.
 */
export async function waitForPieces(parent: Job, token: string): Promise<void> {
  if (await parent.moveToWaitingChildren(token)) throw new WaitingChildrenError();
}

export type FlowOutcome =
  | { ok: true; chunkKeys: string[]; audioKey: string | null }
  | { ok: false; message: string };

/**
 * The parent's second run: flow `flow`'s files in film order, or why it failed. Children of an earlier
 * flow of the same job (a retry plans a new one) are left out by their ids.
 */
export async function collectFlow(parent: Job, flow: string): Promise<FlowOutcome> {
  const ofFlow = (childKey: string) => isPieceKeyOfFlow(childKey, parent.id ?? "", flow);
  const failure = await failureOfFlow(parent, flow);
  if (failure !== null) return { ok: false, message: failure };
  const values = await parent.getChildrenValues();
  const chunks: { key: string; index: number }[] = [];
  let audioKey: string | null = null;
  for (const [childKey, value] of Object.entries(values).filter(([key]) => ofFlow(key))) {
    const result = transcodePieceResults.check(value);
    if (!result.ok) throw new Error(`piece ${childKey} returned no file: ${result.reason}`);
    const index = pieceIndexOfKey(childKey);
    if (index === "audio") audioKey = result.value.key;
    else chunks.push({ key: result.value.key, index });
  }
  chunks.sort((a, b) => a.index - b.index);
  if (chunks.length === 0 || chunks.some((chunk, i) => chunk.index !== i))
    throw new Error("the flow is missing a chunk");
  return { ok: true, chunkKeys: chunks.map((chunk) => chunk.key), audioKey };
}

/**
 * Why flow `flow` of `parent` failed (the most telling of its pieces' final failures), or null while
 * none of them has failed for good. Failures of an earlier flow of the same job are left out.
 */
export async function failureOfFlow(parent: Job, flow: string): Promise<string | null> {
  const failed = Object.entries(await parent.getFailedChildrenValues());
  const failures = failed
    .filter(([key]) => isPieceKeyOfFlow(key, parent.id ?? "", flow))
    .map(([, reason]) => String(reason));
  return failures.length > 0 ? mostTelling(failures) : null;
}

/** The failure that says why: bad input first, then this host's, and a stopped piece's last. */
function mostTelling(failures: readonly string[]): string {
  const rank = (message: string) =>
    message.startsWith(PIECE_INPUT_FAULT) ? 0 : message.startsWith(PIECE_NOT_WANTED) ? 2 : 1;
  return [...failures].sort((a, b) => rank(a) - rank(b))[0]!;
}

/** `bull:transcode:video-1-r1-f…-chunk-00003` → the chunk's index (see pieceJobId), or "audio". */
function pieceIndexOfKey(childKey: string): number | "audio" {
  const match = /-(audio|chunk-(\d{5}))$/.exec(childKey);
  if (!match) throw new Error(`${childKey} is not a piece of a film`);
  return match[1] === "audio" ? "audio" : Number(match[2]);
}
