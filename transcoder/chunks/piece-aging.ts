// A film's pieces wait behind every video job (PIECE_PRIORITY), so that a short upload never waits for
// a film's 60 chunks. A steady stream of uploads would then starve the film: BullMQ serves the jobs
// without a priority first, and there would always be one. So a film whose pieces have waited longer
// than the limit keeps one piece in line with the uploads: when none of its pieces is running or
// waiting in that line, its next one joins it (at the back, behind the uploads already there). The
// film then advances at least one piece at a time however many uploads come, and an upload waits
// behind at most one piece per aged film. One replica ages the queue per round (a lock in Redis).
import { Job, type Queue } from "bullmq";
import type Redis from "ioredis";
import { filmOfPieceId } from "../../contract/transcode-pieces.ts";

export interface PieceAgingDeps {
  /** The queue the pieces wait in. */
  queue: Queue;
  redis: Redis;
  /** How long a film's pieces may wait behind other jobs (FILM_PIECES_MAX_WAIT_SECONDS). */
  maxWaitMs: number;
  /** How long this replica's round holds the lock: a little under the interval, so one round runs per interval. */
  lockMs: number;
  /** Who holds the lock (the transcoder's name). */
  holder: string;
  now?: () => number;
}

/** One round: the ids of the pieces it moved into the line of the video jobs. */
export async function agePieces(deps: PieceAgingDeps): Promise<string[]> {
  const { queue, redis } = deps;
  const lock = await redis.set(`vf:piece-aging:${queue.name}`, deps.holder, "PX", deps.lockMs, "NX");
  if (lock !== "OK") return [];
  const [prioritized, inLine] = await Promise.all([
    queue.getRanges(["prioritized"], 0, -1, true),
    queue.getRanges(["wait", "active", "delayed"], 0, -1, true),
  ]);
  // Films that have a piece running or in the line already need nothing. Delayed counts as in line: a
  // promoted piece keeps priority 0, so when a hand-back or a retry's backoff ends BullMQ puts it back
  // in the line, not in the priority set (a piece delayed with its priority only holds the film back
  // for that delay).
  const moving = new Set(inLine.map(filmOfPieceId).filter((film) => film !== null));
  // Each waiting film's next piece: the first of its pieces in the priority set (audio, then chunks in
  // film order: they were added in that order under one priority).
  const next = new Map<string, string>();
  for (const id of prioritized) {
    const film = filmOfPieceId(id);
    if (film !== null && !moving.has(film) && !next.has(film)) next.set(film, id);
  }
  const now = (deps.now ?? Date.now)();
  const promoted: string[] = [];
  for (const id of next.values()) {
    const piece = await Job.fromId(queue, id);
    // Its timestamp is when the film was cut into pieces: they were all added then.
    if (!piece || now - piece.timestamp < deps.maxWaitMs) continue;
    try {
      // Priority 0 puts it at the back of the wait list, as if it were a video job added now. A piece
      // a worker took meanwhile only gets priority 0 in its hash: it is then the film's piece in line
      // when it comes back, which the check above counts.
      await piece.changePriority({ priority: 0 });
      promoted.push(id);
    } catch {
      // Finished and removed meanwhile (pieces go as they finish): nothing to move; the others still are.
    }
  }
  return promoted;
}
