// The progress of a film whose pieces many replicas encode at once. Each piece writes how much of the
// film it has done into one Redis hash per flow, and reads the whole hash back in the same transaction,
// so every piece's tick tells the film's progress. The ETA is the wall time since the flow's first tick
// scaled by what is left: it counts every replica working on the film without knowing how many there are.
// A film with a fast-start pass (which its planning run encodes while the pieces run elsewhere) keeps
// that pass's percent and ETA in the same hash, so that every tick, the pass's and the pieces', tells
// both passes and one job percent: they would otherwise overwrite each other's ticks, twice a second.
// Every write also numbers its snapshot (`~seq`): two replicas' ticks computed a moment apart may reach
// Redis in the other order, and the reporter publishes a tick only if no later snapshot's went first.
import type Redis from "ioredis";
import { messageCodec } from "../../contract/codec.ts";
import { PassProgress } from "../../contract/progress.ts";
import type { TranscodePieceJob } from "../../contract/transcode-pieces.ts";
import type { TickOrder } from "../progress.ts";
import { PIECE_WEIGHTS, videoSecondsOf } from "./ladder.ts";
import { chunkSeconds } from "./plan.ts";

const STARTED_FIELD = "~started";
/** The fast-start pass: `{"percent":…,"etaSeconds":…}`, or "skipped"; absent without one. */
const FAST_FIELD = "~fast";
/** The number of the hash's latest snapshot: each write's own (see TickOrder). */
const SEQ_FIELD = "~seq";
const passes = messageCodec(PassProgress);
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
  /** The film's fast-start pass as its planning run last told it; null when the film has none. */
  fastStart: PassProgress | null;
  /** Which snapshot of the flow's hash this is: its tick goes out only in that order. */
  order: TickOrder;
}

type FlowOfPiece = Pick<TranscodePieceJob, "source" | "scratchPrefix">;

/** Records that `pieceId` has done `fraction` of itself and returns the film's progress. */
export async function recordPieceProgress(
  redis: Redis,
  piece: Pick<TranscodePieceJob, "piece" | "source" | "scratchPrefix">,
  pieceId: string,
  fraction: number,
  nowMs: number,
): Promise<FilmProgress> {
  const done = Math.min(1, Math.max(0, fraction)) * pieceWeight(piece);
  return record(redis, piece, pieceId, String(done), nowMs);
}

/**
 * Records the film's fast-start pass (its planning run's, beside the pieces): "skipped" once it was
 * decided against. Marked at 0 % before the pieces are added, so that their first ticks already count
 * the pass in the job's percent.
 */
export function recordFastStartProgress(
  redis: Redis,
  flow: FlowOfPiece,
  pass: PassProgress | "skipped",
  nowMs: number,
): Promise<FilmProgress> {
  const value = pass === "skipped" ? pass : passes.encode(pass);
  return record(redis, flow, FAST_FIELD, value, nowMs);
}

async function record(
  redis: Redis,
  flow: FlowOfPiece,
  field: string,
  value: string,
  nowMs: number,
): Promise<FilmProgress> {
  const key = flowProgressKey(flow);
  const transaction = redis.multi().hset(key, field, value);
  // The flow's clock starts with its first piece's tick, not with the fast-start pass's mark.
  if (field !== FAST_FIELD) transaction.hsetnx(key, STARTED_FIELD, String(nowMs));
  const replies = await transaction.hincrby(key, SEQ_FIELD, 1).expire(key, TTL_SECONDS).hgetall(key).exec();
  const fields = (replies?.at(-1)?.[1] ?? {}) as Record<string, string>;
  return { ...filmProgressOf(fields, flow.source, nowMs), order: { key, seq: Number(fields[SEQ_FIELD]) } };
}

function filmProgressOf(
  fields: Record<string, string>,
  source: TranscodePieceJob["source"],
  nowMs: number,
): Omit<FilmProgress, "order"> {
  let sum = 0;
  for (const [field, value] of Object.entries(fields)) if (!field.startsWith("~")) sum += Number(value) || 0;
  // Rounded to a millionth: the pieces' float weights (60 + 60 + 3.6 of 123.6) sum to a hair under the
  // film's, which would leave a finished film at 0.9999999999999999 and never at 1.
  const filmFraction = Math.min(1, Math.round((sum / Math.max(filmWeight(source), 0.001)) * 1e6) / 1e6);
  const started = fields[STARTED_FIELD];
  const elapsed = started === undefined ? 0 : (nowMs - Number(started)) / 1000;
  const etaSeconds =
    filmFraction >= 1
      ? 0
      : filmFraction > 0 && elapsed > 0
        ? Math.round((elapsed * (1 - filmFraction)) / filmFraction)
        : null;
  return { fraction: filmFraction, etaSeconds, fastStart: fastStartOf(fields[FAST_FIELD]) };
}

function fastStartOf(value: string | undefined): PassProgress | null {
  if (value === undefined || value === "skipped") return null;
  const decoded = passes.decode(value);
  return decoded.ok ? decoded.value : null;
}
