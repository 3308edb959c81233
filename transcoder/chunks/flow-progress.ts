// The progress of a film whose pieces many replicas encode at once. Each piece writes how much of the
// film it has done into one Redis hash per flow, and reads the whole hash back in the same transaction,
// so every piece's tick tells the film's progress. The ETA is the wall time since the flow's first tick
// scaled by what is left: it counts every replica working on the film without knowing how many there are.
import type Redis from "ioredis";
import type { TranscodePieceJob } from "../../contract/transcode-pieces.ts";
import { PIECE_WEIGHTS, videoSecondsOf } from "./ladder.ts";
import { chunkSeconds } from "./plan.ts";

const STARTED_FIELD = "~started";
/** A flow's hash outlives any film's encode, then goes by itself. */
const TTL_SECONDS = 24 * 3600;

export const flowProgressKey = (piece: Pick<TranscodePieceJob, "scratchPrefix">) =>
  `vf:flow-progress:${piece.scratchPrefix}`;

/** A piece's share of the film's work, in film seconds (the sound counts little: it is cheap). */
export function pieceWeight(piece: Pick<TranscodePieceJob, "piece" | "source">): number {
  const videoSeconds = videoSecondsOf(piece.source);
  if (piece.piece.kind === "audio") return PIECE_WEIGHTS.audio * videoSeconds;
  return chunkSeconds(piece.piece, videoSeconds);
}

/** The whole film's work in the same unit. */
export function filmWeight(source: TranscodePieceJob["source"]): number {
  const videoSeconds = videoSecondsOf(source);
  return videoSeconds * (1 + (source.audio ? PIECE_WEIGHTS.audio : 0));
}

export interface FilmProgress {
  /** 0–1 of the film's pieces. */
  fraction: number;
  etaSeconds: number | null;
}

/** Records that `pieceId` has done `fraction` of itself and returns the film's progress. */
export async function recordPieceProgress(
  redis: Redis,
  piece: Pick<TranscodePieceJob, "piece" | "source" | "scratchPrefix">,
  pieceId: string,
  fraction: number,
  nowMs: number,
): Promise<FilmProgress> {
  const key = flowProgressKey(piece);
  const done = Math.min(1, Math.max(0, fraction)) * pieceWeight(piece);
  const replies = await redis
    .multi()
    .hset(key, pieceId, String(done))
    .hsetnx(key, STARTED_FIELD, String(nowMs))
    .expire(key, TTL_SECONDS)
    .hgetall(key)
    .exec();
  const fields = (replies?.at(-1)?.[1] ?? {}) as Record<string, string>;
  let sum = 0;
  for (const [field, value] of Object.entries(fields)) if (field !== STARTED_FIELD) sum += Number(value) || 0;
  // Rounded to a millionth: the pieces' float weights (60 + 60 + 3.6 of 123.6) sum to a hair under the
  // film's, which would leave a finished film at 0.9999999999999999 and never at 1.
  const filmFraction = Math.min(1, Math.round((sum / Math.max(filmWeight(piece.source), 0.001)) * 1e6) / 1e6);
  const elapsed = (nowMs - Number(fields[STARTED_FIELD] ?? nowMs)) / 1000;
  const etaSeconds =
    filmFraction >= 1
      ? 0
      : filmFraction > 0 && elapsed > 0
        ? Math.round((elapsed * (1 - filmFraction)) / filmFraction)
        : null;
  return { fraction: filmFraction, etaSeconds };
}
