// A video's lifecycle: its states, the moves between them, the revision rules, and the one place that
// writes `processing_state` and announces every change on the event bus.
//
//   upload ─► pending ──(report processing)──► processing ──(report ready)──► ready
//               │  ▲                               │
//               │  └── retry ◄── error ◄───────────┘ (report error, or the job failed for good)
//               └──────(report error / ready before a processing report landed)──► error / ready
//
//   report playable (processing, or pending → processing): the revision's fast-start tree becomes the
//     published one (`playable_at`, listed); only while no ladder is published. At `ready` the ladder
//     replaces it, and it is retired until viewers who started on it can have finished (docs/fast-start.md).
//   report error (a job's last word): the revision's fast-start playlist, if unended, gets ENDLIST.
//
//   replace the file (any state): revision + 1, back to pending; viewers keep the published revision
//     until the new one is ready, then its tree is deleted.
//   delete (any state): the row goes; later reports for it are ignored and their output removed.
//
// Every report names a revision: one for any other revision than the row's changes nothing, so a
// report delivered twice, late, or for a replaced file is harmless, whichever replica applies it.
import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import {
  fastStartPrefixFor,
  isFastStartPrefix,
  outputPrefixFor,
  type TranscodeResult,
} from "../../contract/media.ts";
import type { TranscodeProgress } from "../../contract/progress.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { type VideoChange, videoChanges } from "../../contract/video-changes.ts";
import type { Database } from "../../db/client.ts";
import {
  type ProcessingState,
  processingState,
  retiredRevisions,
  type Video,
  videos,
} from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import type { EventBus } from "../shared/event-bus.ts";
import { type PassView, presentPasses } from "../shared/progress-passes.ts";
import type { TranscodeAttempts } from "./attempts.ts";
import {
  dropStaleFastStart,
  endFastStartPlaylists,
  fastStartRemoval,
  mayFastStart,
} from "./fast-start-trees.ts";

export type VideoState = ProcessingState;
export const VIDEO_STATES: readonly VideoState[] = processingState.enumValues;

/**
 * The states a transcoder's report moves a video out of (into the report's own state). A `ready` of the
 * row's revision also ends an `error`: a worker reports only while it holds the job's lock, so an error
 * before it came from an attempt that had lost the job (its lock lapsed and this one took over).
 */
export const REPORT_MOVES_FROM: Readonly<Record<TranscodeReport["type"], readonly VideoState[]>> = {
  processing: ["pending"],
  playable: ["pending", "processing"],
  ready: ["pending", "processing", "error"],
  error: ["pending", "processing"],
  // An attempt failed and the queue tries again: only the job's history hears of it.
  failed: [],
};
/** States in which a job must still finish the video (reconciliation makes sure one will). */
export const UNFINISHED_STATES: readonly VideoState[] = ["pending", "processing"];
/** Only a failed video can be retried; one that is queued, running or ready has nothing to retry. */
export const RETRY_MOVES_FROM: readonly VideoState[] = ["error"];
/** Where transcoding stands, as clients see it: derived from the state and the latest progress tick. */
export function progressOf(
  video: Pick<Video, "processingState" | "revision">,
  tick: TranscodeProgress | undefined,
): {
  percent: number;
  stage: string;
  eta_seconds: number | null;
  passes?: { fast_start?: PassView; ladder?: PassView };
} {
  switch (video.processingState) {
    case "ready":
      return { percent: 100, stage: "done", eta_seconds: 0 };
    case "error":
      return { percent: 0, stage: "failed", eta_seconds: null };
    case "pending":
      return { percent: 0, stage: "queued", eta_seconds: null };
    case "processing": {
      // A tick of an earlier revision says nothing about this one.
      if (!tick || tick.revision !== video.revision)
        return { percent: 0, stage: "processing", eta_seconds: null };
      const passes = presentPasses(tick);
      return {
        percent: Math.round(tick.percent * 10) / 10,
        stage: tick.stage,
        eta_seconds: tick.etaSeconds,
        ...(passes ? { passes } : {}),
      };
    }
  }
}

export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type NewVideo = Pick<
  typeof videos.$inferInsert,
  "title" | "description" | "translations" | "categoryId" | "uploadedBy" | "sourceKey" | "sourceBytes"
>;
export type VideoEdit = Partial<
  Pick<typeof videos.$inferInsert, "title" | "description" | "translations" | "categoryId">
>;

export class VideoLifecycle {
  constructor(
    private readonly deps: {
      db: Database;
      storage: MediaStorage;
      bus: EventBus;
      log: Logger;
      /**
       * How long a replaced revision's tree stays after the switch: 0 deletes it at once (the local
       * driver, whose files only the api and the edge hand out); with object storage, viewers mid-playlist
       * hold presigned URLs into it, so the storage sweeper deletes it after the grace period.
       */
      retiredGraceSeconds: number;
      /** The job history every report is recorded in, before its move is applied. */
      attempts: TranscodeAttempts;
    },
  ) {}

  /** A new upload: revision 1, pending. `prepare` runs in the same transaction (e.g. finds the category). */
  async create(
    prepare: (tx: Transaction) => Promise<NewVideo>,
    /** Runs in the same transaction once the row exists; a throw there leaves no video behind. */
    inserted?: (tx: Transaction, video: Video) => Promise<void>,
  ): Promise<Video> {
    const video = await this.deps.db.transaction(async (tx) => {
      const values = await prepare(tx);
      const [row] = await tx
        .insert(videos)
        .values({ ...values, processingState: "pending", revision: 1 })
        .returning();
      await inserted?.(tx, row!);
      return row!;
    });
    await this.announce({ type: "video.created", id: video.id, revision: video.revision });
    return video;
  }

  /** Title, description, translations or category; the state is untouched. False when there is no such video. */
  async edit(id: number, prepare: (tx: Transaction) => Promise<VideoEdit>): Promise<boolean> {
    const found = await this.deps.db.transaction(async (tx) => {
      const changes = await prepare(tx);
      const rows = await tx
        .update(videos)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(videos.id, id))
        .returning({ id: videos.id });
      return rows.length > 0;
    });
    if (found) await this.announce({ type: "video.updated", id });
    return found;
  }

  /**
   * A new file starts a new revision, pending, whatever the state. The published revision stays as it
   * is (and playable) until the new one is ready. Null when there is no such video.
   */
  async replaceSource(
    id: number,
    source: { key: string; bytes: number },
  ): Promise<{ previous: Video; next: Video } | null> {
    const replaced = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(videos).where(eq(videos.id, id)).for("update");
      if (!current) return null;
      const [next] = await tx
        .update(videos)
        .set({
          revision: current.revision + 1,
          sourceKey: source.key,
          sourceBytes: source.bytes,
          processingState: "pending",
          processingError: null,
          processingStartedAt: null,
        })
        .where(eq(videos.id, id))
        .returning();
      return { previous: current, next: next! };
    });
    if (replaced) await this.announce({ type: "video.updated", id });
    return replaced;
  }

  /** A replaced revision's job was removed before its runs reported: their history rows end now. */
  async abandonRevision(id: number, revision: number): Promise<void> {
    await this.deps.attempts.interruptOpen(
      id,
      revision,
      "its file was replaced before this attempt finished",
    );
  }

  /** error → pending, same revision. Null when the video is in any other state (or missing). */
  async retry(id: number): Promise<Video | null> {
    const [video] = await this.deps.db
      .update(videos)
      .set({ processingState: "pending", processingError: null, processingStartedAt: null })
      .where(and(eq(videos.id, id), inArray(videos.processingState, [...RETRY_MOVES_FROM])))
      .returning();
    if (video) await this.announce({ type: "video.updated", id });
    return video ?? null;
  }

  /** Removes the row (any state); the caller tidies storage and the queue. */
  async delete(id: number): Promise<Video | null> {
    const [deleted] = await this.deps.db.delete(videos).where(eq(videos.id, id)).returning();
    if (deleted) await this.announce({ type: "video.deleted", id });
    return deleted ?? null;
  }

  /** Applies a transcoder's report; true when it moved the video (and the move was announced). */
  async applyReport(report: TranscodeReport): Promise<boolean> {
    // Reports name a revision, not a retry: only the job history tells a redelivered error from a new one.
    if (report.type === "error" && (await this.deps.attempts.errorAlreadyApplied(report))) {
      this.deps.log.info(
        { video_id: report.videoId, revision: report.revision, attempt: report.attempt },
        "error report delivered again: already applied",
      );
      return false;
    }
    await this.deps.attempts.record(report);
    if (report.type === "failed") return false;
    if (report.type === "playable") return this.makePlayable(report);
    // Before the state moves: a retry (error → pending) must find the playlists already ended.
    if (report.type === "error") {
      const ended = await endFastStartPlaylists(this.deps, report.videoId, report.revision);
      if (ended.length > 0) {
        this.deps.log.info(
          { video_id: report.videoId, revision: report.revision, playlists: ended },
          "fast-start playlist ended: its job is over",
        );
      }
    }
    const moved =
      report.type === "processing"
        ? await this.moveOnReport(report, { processingError: null, processingStartedAt: new Date(report.at) })
        : report.type === "ready"
          ? await this.publish(report.videoId, report.revision, report.result)
          : await this.moveOnReport(report, { processingError: report.message });
    if (!moved) {
      // The last word of a job for a deleted video or a replaced revision: its fast-start tree goes.
      if (report.type === "error") await dropStaleFastStart(this.deps, report.videoId, report.revision);
      return false;
    }
    this.deps.log.info(
      { video_id: report.videoId, revision: report.revision, state: report.type },
      "video state changed",
    );
    await this.announce({
      type: "video.state",
      id: report.videoId,
      revision: report.revision,
      state: report.type,
      processing_error: report.type === "error" ? report.message : null,
    });
    return true;
  }

  private async moveOnReport(
    report: Exclude<TranscodeReport, { type: "ready" | "playable" | "failed" }>,
    changes: Partial<typeof videos.$inferInsert>,
  ): Promise<boolean> {
    const rows = await this.deps.db
      .update(videos)
      .set({ ...changes, processingState: report.type })
      .where(
        and(
          eq(videos.id, report.videoId),
          eq(videos.revision, report.revision),
          inArray(videos.processingState, [...REPORT_MOVES_FROM[report.type]]),
        ),
      )
      .returning({ id: videos.id });
    return rows.length > 0;
  }

  /** → ready: the revision's tree becomes the published one, and the one it replaces is deleted. */
  private async publish(videoId: number, revision: number, result: TranscodeResult): Promise<boolean> {
    const prefix = outputPrefixFor(videoId, revision);
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(videos).where(eq(videos.id, videoId)).for("update");
      if (!current) return { applied: false, orphan: true } as const;
      // A report of another revision, or one that comes after the revision settled: its output is only
      // an orphan when it is not the tree viewers are still being served.
      if (current.revision !== revision || !REPORT_MOVES_FROM.ready.includes(current.processingState)) {
        return { applied: false, orphan: current.publishedPrefix !== prefix } as const;
      }
      const replaced = current.publishedPrefix !== prefix ? current.publishedPrefix : null;
      // A fast-start tree is never deleted at the switch: players hold its playlist (FAST_START_RETAIN…).
      const replacedFastStart = replaced !== null && isFastStartPrefix(replaced);
      if (replaced && (replacedFastStart || this.deps.retiredGraceSeconds > 0)) {
        await tx.insert(retiredRevisions).values({
          videoId,
          prefix: replaced,
          removeAfter: replacedFastStart
            ? fastStartRemoval(current.durationSeconds, this.deps.retiredGraceSeconds)
            : null,
        });
      }
      await tx
        .update(videos)
        .set({
          processingState: "ready",
          processingError: null,
          publishedRevision: revision,
          publishedPrefix: prefix,
          durationSeconds: result.durationSeconds,
          renditions: result.renditions,
          masterPlaylist: result.masterPlaylist,
          posters: result.posters,
          storyboard: result.storyboard,
          readyAt: new Date(),
          playableAt: current.playableAt ?? new Date(),
        })
        .where(eq(videos.id, videoId));
      return { applied: true, replaced: replacedFastStart ? null : replaced } as const;
    });
    // Storage is tidied only after the database points at the new tree: viewers never hit a gap.
    if (outcome.applied && outcome.replaced && this.deps.retiredGraceSeconds === 0) {
      await this.deps.storage.deletePrefix(outcome.replaced);
    }
    if (!outcome.applied && outcome.orphan) await this.deps.storage.deletePrefix(prefix);
    if (!outcome.applied) await dropStaleFastStart(this.deps, videoId, revision);
    return outcome.applied;
  }

  /**
   * → playable: the revision's fast-start tree becomes the published one while its ladder is made (the
   * state stays, or becomes, `processing`). Never over a published ladder; a repeat (a retry's) is a no-op.
   */
  private async makePlayable(report: Extract<TranscodeReport, { type: "playable" }>): Promise<boolean> {
    const { videoId, revision } = report;
    const prefix = fastStartPrefixFor(videoId, revision);
    const applied = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(videos).where(eq(videos.id, videoId)).for("update");
      if (
        !current ||
        current.revision !== revision ||
        !REPORT_MOVES_FROM.playable.includes(current.processingState) ||
        !mayFastStart(current) ||
        current.publishedPrefix === prefix
      ) {
        return false;
      }
      // An earlier revision's fast-start tree (its file was replaced before its ladder was done).
      if (current.publishedPrefix) {
        await tx.insert(retiredRevisions).values({
          videoId,
          prefix: current.publishedPrefix,
          removeAfter: fastStartRemoval(current.durationSeconds, this.deps.retiredGraceSeconds),
        });
      }
      await tx
        .update(videos)
        .set({
          processingState: "processing",
          processingStartedAt: current.processingStartedAt ?? new Date(report.at),
          publishedRevision: revision,
          publishedPrefix: prefix,
          durationSeconds: report.durationSeconds,
          renditions: [report.rendition],
          masterPlaylist: report.masterPlaylist,
          posters: [],
          storyboard: null,
          playableAt: current.playableAt ?? new Date(),
        })
        .where(eq(videos.id, videoId));
      return true;
    });
    if (!applied) {
      await dropStaleFastStart(this.deps, videoId, revision);
      return false;
    }
    this.deps.log.info({ video_id: videoId, revision }, "video playable (fast-start rendition)");
    await this.announce({ type: "video.playable", id: videoId, revision });
    return true;
  }

  private async announce(change: VideoChange): Promise<void> {
    await this.deps.bus.publish(videoChanges, change);
  }
}
