import { and, desc, eq, gt, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { Database } from "../../db/client.ts";
import { type Video, videos, watchProgress } from "../../db/schema/index.ts";
import type { Config } from "../config/load.ts";
import { badRequest, notFound } from "../http/errors.ts";
import { type Clock, epochMsOf } from "../shared/clock.ts";
import { type ProgressEntry, ProgressStore } from "./store.ts";

/** A video counts as watched once the position passes this share of its duration. */
export const FINISHED_SHARE = 0.95;
/** Players report a little past the end (rounding, the last segment): that much is tolerated. */
const END_SLACK_SECONDS = 5;
/** A client clock this far ahead of ours is not trusted: its heartbeat counts as sent now. */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
const CACHE_TTL_MS = 30_000;
const CACHE_MISS_TTL_MS = 2_000;
const CACHE_MAX_ENTRIES = 50_000;
const CONTINUE_WATCHING_LIMIT = 100;

export interface WatchProgressDeps {
  db: Database;
  redis: Redis;
  config: Pick<Config, "progressFlushIntervalSeconds">;
  clock: Clock;
  /** Called with the number of heartbeats Redis accepted, once per batch (metrics). */
  onRecorded?: (heartbeats: number) => void;
}

/** What a heartbeat needs to know of a video: listed or not, and how long it is. */
interface ListedVideo {
  listed: boolean;
  durationSeconds: number | null;
}

/** A video's entry in the cache: the query (shared by concurrent misses), and its answer once known. */
interface CachedVideo {
  expiresAt: number;
  video: Promise<ListedVideo>;
  /** Set when the query answered: a heartbeat then checks the video without waiting for a promise. */
  known: ListedVideo | null;
}

/** One video of the "continue watching" row: where the user is in it, and when they were there. */
export interface ContinueWatchingEntry {
  video: Video;
  durationSeconds: number;
  positionSeconds: number;
  sentAtMs: number;
}

/** Parses `sent_at`: an ISO date-time or epoch milliseconds; absent means now. */
export function parseSentAt(value: string | number | undefined, nowMs: number): number {
  if (value === undefined) return nowMs;
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0 || (typeof value === "number" && !Number.isInteger(ms))) {
    throw badRequest({ sent_at: ["Must be an ISO 8601 date-time or epoch milliseconds."] });
  }
  return ms > nowMs + MAX_CLOCK_AHEAD_MS ? nowMs : ms;
}

/**
 * Watch progress: heartbeats go to Redis (no database read or write on that path, video durations
 * are cached here for a few seconds), the flusher moves them to PostgreSQL, and "continue watching"
 * merges both. Also what the WebSocket handler calls: `record(userId, videoId, position, sentAtMs)`.
 */
export class WatchProgressService {
  private readonly store: ProgressStore;
  private readonly videoCache = new Map<number, CachedVideo>();
  private readonly nowMs: () => number;

  constructor(private readonly deps: WatchProgressDeps) {
    // A user's unflushed positions must outlive the flush (and a retry after a failed one).
    const userTtlSeconds = Math.max(600, deps.config.progressFlushIntervalSeconds * 30);
    this.store = new ProgressStore(deps.redis, userTtlSeconds, deps.onRecorded);
    this.nowMs = epochMsOf(deps.clock);
  }

  /**
   * Accepts one heartbeat of `userId`; resolves once Redis has it. Rejects with 404 for a video that is
   * not listed, 400 for a position that is not a number ≥ 0 or lies past the video's end. `sentAtMs`
   * (client time) decides which heartbeat wins; it defaults to now. Not async on purpose: with the
   * video's length cached (nearly every heartbeat) the only wait is the batch's one Redis call.
   */
  record(userId: number, videoId: number, positionSeconds: unknown, sentAt?: number | string): Promise<void> {
    try {
      if (typeof positionSeconds !== "number" || !Number.isFinite(positionSeconds) || positionSeconds < 0) {
        throw badRequest({ position_seconds: ["Must be a number of seconds ≥ 0."] });
      }
      // Route params are checked by their schema; a socket message may carry any number.
      if (!Number.isInteger(videoId) || videoId < 1 || videoId > 2_147_483_647)
        throw notFound("Video not found.");
      const nowMs = this.nowMs();
      const entry = { userId, videoId, positionSeconds, sentAtMs: parseSentAt(sentAt, nowMs) };
      const cached = this.videoCache.get(videoId);
      // The cache runs on real time (like its queries), not on the clock heartbeats are dated by.
      if (cached?.known && cached.expiresAt > Date.now()) return this.accept(cached.known, entry);
      return this.listedVideo(videoId).then((video) => this.accept(video, entry));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Checks a heartbeat against its video and hands it to the store (throws 404/400). */
  private accept(video: ListedVideo, entry: ProgressEntry): Promise<void> {
    if (!video.listed) throw notFound("Video not found.");
    const { positionSeconds } = entry;
    if (video.durationSeconds !== null && positionSeconds > video.durationSeconds + END_SLACK_SECONDS) {
      throw badRequest({
        position_seconds: [`Past the end of the video (${video.durationSeconds} seconds).`],
      });
    }
    entry.positionSeconds = Math.round(positionSeconds * 1000) / 1000;
    return this.store.put(entry);
  }

  /** The user's started, unfinished videos, most recently watched first, unflushed heartbeats included. */
  async continueWatching(userId: number): Promise<ContinueWatchingEntry[]> {
    const pending = await this.store.userPositions(userId);
    const pendingIds = [...pending.keys()];
    const unfinished = and(
      gt(watchProgress.positionSeconds, 0),
      lt(watchProgress.positionSeconds, sql`${FINISHED_SHARE} * ${videos.durationSeconds}`),
    );
    const stored = await this.deps.db
      .select({ progress: watchProgress, video: videos })
      .from(watchProgress)
      .innerJoin(videos, eq(videos.id, watchProgress.videoId))
      .where(
        and(
          eq(watchProgress.userId, userId),
          isNotNull(videos.publishedRevision),
          pendingIds.length > 0 ? or(unfinished, inArray(watchProgress.videoId, pendingIds)) : unfinished,
        ),
      )
      .orderBy(desc(watchProgress.clientSentAt))
      .limit(CONTINUE_WATCHING_LIMIT + pendingIds.length);

    const latest = new Map<number, { video: Video; positionSeconds: number; sentAtMs: number }>();
    for (const { progress, video } of stored) {
      latest.set(video.id, {
        video,
        positionSeconds: progress.positionSeconds,
        sentAtMs: progress.clientSentAt.getTime(),
      });
    }
    const unseen = pendingIds.filter((id) => !latest.has(id));
    const pendingVideos =
      unseen.length === 0
        ? []
        : await this.deps.db
            .select()
            .from(videos)
            .where(and(inArray(videos.id, unseen), isNotNull(videos.publishedRevision)));
    const videoById = new Map(pendingVideos.map((video) => [video.id, video]));
    for (const [videoId, position] of pending) {
      const known = latest.get(videoId);
      if (known && known.sentAtMs >= position.sentAtMs) continue;
      const video = known?.video ?? videoById.get(videoId);
      if (video) latest.set(videoId, { video, ...position });
    }

    return [...latest.values()]
      .flatMap(({ video, positionSeconds, sentAtMs }) => {
        const duration = video.durationSeconds;
        // Started and not finished; a video of unknown length cannot be placed on the row.
        if (!duration || positionSeconds <= 0 || positionSeconds >= FINISHED_SHARE * duration) return [];
        return [{ video, durationSeconds: duration, positionSeconds, sentAtMs }];
      })
      .sort((a, b) => b.sentAtMs - a.sentAtMs)
      .slice(0, CONTINUE_WATCHING_LIMIT);
  }

  /**
   * Where the user is in one listed video, heartbeats not flushed yet included (the later by client
   * time wins); null when they never started it (or it is not listed).
   */
  async positionIn(
    userId: number,
    videoId: number,
  ): Promise<{ positionSeconds: number; durationSeconds: number | null } | null> {
    const video = await this.listedVideo(videoId);
    if (!video.listed) return null;
    const [pending, [stored]] = await Promise.all([
      this.store.userPosition(userId, videoId),
      this.deps.db
        .select({ positionSeconds: watchProgress.positionSeconds, sentAt: watchProgress.clientSentAt })
        .from(watchProgress)
        .where(and(eq(watchProgress.userId, userId), eq(watchProgress.videoId, videoId))),
    ]);
    const latest =
      pending && (!stored || pending.sentAtMs > stored.sentAt.getTime())
        ? pending.positionSeconds
        : stored?.positionSeconds;
    return latest === undefined ? null : { positionSeconds: latest, durationSeconds: video.durationSeconds };
  }

  /** Listed (published) or not, and its duration: cached briefly, concurrent misses share one query. */
  private listedVideo(videoId: number): Promise<ListedVideo> {
    const now = Date.now();
    const cached = this.videoCache.get(videoId);
    if (cached && cached.expiresAt > now) return cached.video;
    if (this.videoCache.size >= CACHE_MAX_ENTRIES) this.videoCache.clear();
    const video = this.deps.db
      .select({ publishedRevision: videos.publishedRevision, durationSeconds: videos.durationSeconds })
      .from(videos)
      .where(eq(videos.id, videoId))
      .then(([row]) => ({
        listed: row !== undefined && row.publishedRevision !== null,
        durationSeconds: row?.durationSeconds ?? null,
      }));
    const entry: CachedVideo = { expiresAt: now + CACHE_TTL_MS, video, known: null };
    this.videoCache.set(videoId, entry);
    video.then(
      (found) => {
        entry.known = found;
        if (!found.listed) entry.expiresAt = Date.now() + CACHE_MISS_TTL_MS;
      },
      () => this.videoCache.delete(videoId),
    );
    return video;
  }
}
