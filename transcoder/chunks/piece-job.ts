// One piece of a film's flow on whichever replica claimed it: read the source (in place on the local
// driver, downloaded whole into this replica's scratch from a bucket), encode the chunk or the sound, and
// put the file under the flow's scratch prefix with this attempt's number in its name. The job's return
// value names that key: the parent stitches only what finished attempts returned, so a dead attempt's
// file (a replica killed mid-chunk) is never stitched. While it runs, the piece stops as soon as its
// flow is no longer wanted: the parent forgot it (a retry, a failure), finished, is gone, a sibling of
// the same flow failed for good, or the source was deleted. The parent's state alone says nothing: a
// parent handed back at shutdown, stalled or delayed still wants its flow.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Job, type Queue, UnrecoverableError } from "bullmq";
import {
  flowOfFilmJob,
  isPieceKeyOfFlow,
  type TranscodePieceJob,
  type TranscodePieceResult,
  transcodePieceJobs,
} from "../../contract/transcode-pieces.ts";
import type { MediaStorage } from "../../storage/index.ts";
import type { EncodeTimeoutSettings } from "../encode-deadline.ts";
import { InputError } from "../errors.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import { silentLog, type TranscodeLog } from "../log.ts";
import { directSourceReader, type HeldSource, type SourceReader } from "../source-cache.ts";
import { encodeAudio, encodeChunk } from "./encode.ts";
import { AUDIO_FILE, chunkFileName, videoSecondsOf } from "./ladder.ts";
import { chunkSeconds } from "./plan.ts";

export interface PieceJobDeps {
  storage: MediaStorage;
  /** How the source is read (default: fetched into the attempt's folder, as without a cache). */
  sources?: SourceReader;
  /** The transcode queue, to ask after a piece's parent. */
  queue: Queue;
  /** This replica's own working folder; each attempt works in a folder of its own under it. */
  workDir: string;
  hwaccel?: HwAccelMode;
  encodeTimeout?: EncodeTimeoutSettings;
  log?: TranscodeLog;
  /** How often the piece asks whether it is still wanted (its parent waits, its source is there; default 1 s). */
  parentCheckMs?: number;
  /** This attempt's 0–1 and the film seconds the piece covers, on every progress block. */
  onProgress?: (fraction: number, pieceSeconds: number) => void;
  /** Aborts the piece from outside (shutdown, a lost lock). */
  signal?: AbortSignal;
}

/** Starts the failure of a piece that failed on its input: the parent fails the video with the rest. */
export const PIECE_INPUT_FAULT = "input: ";

/** Starts the failure of a piece stopped because nobody wanted it: a consequence, never the cause. */
export const PIECE_NOT_WANTED = "not wanted: ";

/** Thrown when the piece's parent no longer waits for it: nobody will stitch its output. */
export class PieceNotWantedError extends Error {
  override readonly name = "PieceNotWantedError";
}

const SOURCE_GONE = "The uploaded file is no longer there (the video was deleted or its file replaced).";

export async function runPieceJob(job: Job, deps: PieceJobDeps): Promise<TranscodePieceResult> {
  const checked = transcodePieceJobs.check(job.data);
  if (!checked.ok) throw new UnrecoverableError(`Malformed piece job: ${checked.reason}`);
  const piece = checked.value;
  const log = deps.log ?? silentLog;
  const attempt = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1);
  const folder = join(deps.workDir, `piece-${Buffer.from(job.id ?? "piece").toString("hex")}-a${attempt}`);
  const controller = new AbortController();
  const stopOn = (signal?: AbortSignal) =>
    signal?.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  stopOn(deps.signal);
  const watching = watchWanted(job, piece, deps, controller);
  let source: HeldSource | undefined;
  try {
    if (!(await deps.storage.stat(piece.sourceKey))) throw new PieceNotWantedError(SOURCE_GONE);
    await mkdir(folder, { recursive: true });
    // The film's other pieces that come to this replica read the same copy (source-cache.ts).
    source = await (deps.sources ?? directSourceReader(deps.storage)).hold(piece.sourceKey, {
      dir: folder,
      signal: controller.signal,
      log,
    });
    const sourcePath = source.path;
    const fileName = piece.piece.kind === "audio" ? AUDIO_FILE : chunkFileName(piece.piece);
    const outputPath = join(folder, fileName);
    await encodePiece(piece, sourcePath, outputPath, deps, controller.signal);
    const key = `${piece.scratchPrefix}/a${attempt}-${fileName}`;
    // Asked once more just before the put: a flow that failed meanwhile has dropped its scratch.
    const unwanted = await notWanted(job, piece, deps);
    if (unwanted) throw new PieceNotWantedError(unwanted);
    await deps.storage.putFile(outputPath, key);
    log.info({ job_id: job.id, key }, "piece encoded");
    return { key };
  } catch (error) {
    if (controller.signal.aborted && controller.signal.reason instanceof PieceNotWantedError) {
      throw new UnrecoverableError(`${PIECE_NOT_WANTED}${controller.signal.reason.message}`);
    }
    if (error instanceof PieceNotWantedError)
      throw new UnrecoverableError(`${PIECE_NOT_WANTED}${error.message}`);
    // Bad input fails the piece for good: retrying cannot help, and the parent tells the video why.
    if (error instanceof InputError) throw new UnrecoverableError(`${PIECE_INPUT_FAULT}${error.message}`);
    throw error;
  } finally {
    clearInterval(watching);
    await source?.release().catch((error) => log.warn({ err: error }, "the source copy was not released"));
    await rm(folder, { recursive: true, force: true });
  }
}

function encodePiece(
  piece: TranscodePieceJob,
  sourcePath: string,
  outputPath: string,
  deps: PieceJobDeps,
  signal: AbortSignal,
): Promise<void> {
  const common = {
    sourcePath,
    outputPath,
    source: piece.source,
    ladder: piece.ladder,
  };
  const options = { signal, log: deps.log, encodeTimeout: deps.encodeTimeout };
  const videoSeconds = videoSecondsOf(piece.source);
  if (piece.piece.kind === "audio") {
    const seconds = piece.source.durationSeconds;
    return encodeAudio(
      { ...common, durationSeconds: seconds },
      { ...options, onProgress: (fraction) => deps.onProgress?.(fraction, seconds) },
    );
  }
  const chunk = piece.piece;
  const seconds = chunkSeconds(chunk, videoSeconds);
  return encodeChunk(
    {
      ...common,
      chunk,
      videoSeconds,
      segmentSeconds: piece.segmentSeconds,
      preset: piece.preset,
      hwaccel: deps.hwaccel,
    },
    { ...options, onProgress: (fraction) => deps.onProgress?.(fraction, seconds) },
  );
}

/** Why nobody wants the piece any more (its parent moved on, its source was deleted), or null. */
async function notWanted(job: Job, piece: TranscodePieceJob, deps: PieceJobDeps): Promise<string | null> {
  const parentId = job.parent?.id;
  if (parentId) {
    const parent = await Job.fromId(deps.queue, parentId);
    if (!parent) return "the film's job is gone";
    const state = await parent.getState();
    if (state === "completed" || state === "failed" || state === "unknown")
      return `the film's job is ${state}`;
    if (flowOfFilmJob(parent.data) !== piece.flow) return "the film's job dropped this flow";
    // A sibling failed for good: the film fails with its reason, whether or not the parent ran yet.
    const failed = Object.keys(await parent.getFailedChildrenValues());
    if (failed.some((key) => isPieceKeyOfFlow(key, parentId, piece.flow)))
      return "another piece of the film failed";
  }
  // A delete cannot remove a parent whose piece runs (BullMQ: locked), but it removes the source.
  if (!(await deps.storage.stat(piece.sourceKey))) return SOURCE_GONE;
  return null;
}

/** Aborts the piece as soon as nobody wants it; a failed check (Redis or storage away) changes nothing. */
function watchWanted(job: Job, piece: TranscodePieceJob, deps: PieceJobDeps, controller: AbortController) {
  let asking = false;
  return setInterval(() => {
    if (asking || controller.signal.aborted) return;
    asking = true;
    void notWanted(job, piece, deps)
      .then(
        (reason) => {
          if (reason) controller.abort(new PieceNotWantedError(reason));
        },
        () => {},
      )
      .finally(() => {
        asking = false;
      });
  }, deps.parentCheckMs ?? 1000);
}
