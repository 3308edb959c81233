import { Worker } from "bullmq";
import { and, eq, inArray } from "drizzle-orm";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import {
  outputPrefixFor,
  type TranscodeResult,
  VIDEO_EVENTS_QUEUE,
  VIDEO_STATE_CHANNEL,
  type VideoEvent,
} from "../../transcoder/contract.ts";

export interface VideoStateChange {
  type: "video.state";
  id: number;
  revision: number;
  state: "processing" | "ready" | "error";
  processing_error: string | null;
}

/**
 * Applies the transcoders' state events to PostgreSQL. Every update is conditional on the video's
 * current revision and state, so an event delivered twice, late, or for a replaced revision changes
 * nothing: each transition lands exactly once whichever replica sees it.
 */
export class VideoStateApplier {
  constructor(
    private readonly deps: { db: Database; storage: MediaStorage; publisher: Redis; log: Logger },
  ) {}

  async apply(event: VideoEvent): Promise<boolean> {
    const changed =
      event.type === "processing"
        ? await this.processing(event.videoId, event.revision, new Date(event.at))
        : event.type === "ready"
          ? await this.ready(event.videoId, event.revision, event.result)
          : await this.failed(event.videoId, event.revision, event.message);
    if (changed) {
      const change: VideoStateChange = {
        type: "video.state",
        id: event.videoId,
        revision: event.revision,
        state: event.type,
        processing_error: event.type === "error" ? event.message : null,
      };
      await this.deps.publisher.publish(VIDEO_STATE_CHANNEL, JSON.stringify(change));
      this.deps.log.info(
        { video_id: event.videoId, revision: event.revision, state: event.type },
        "video state changed",
      );
    }
    return changed;
  }

  private async processing(videoId: number, revision: number, at: Date): Promise<boolean> {
    const rows = await this.deps.db
      .update(videos)
      .set({ processingState: "processing", processingError: null, processingStartedAt: at })
      .where(
        and(eq(videos.id, videoId), eq(videos.revision, revision), eq(videos.processingState, "pending")),
      )
      .returning({ id: videos.id });
    return rows.length > 0;
  }

  private async ready(videoId: number, revision: number, result: TranscodeResult): Promise<boolean> {
    const prefix = outputPrefixFor(videoId, revision);
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(videos).where(eq(videos.id, videoId)).for("update");
      if (!current) return { applied: false, orphan: true } as const;
      // An older revision's event (e.g. redelivered after the file was replaced): its output is only an
      // orphan when it is not the tree viewers are still being served until the new revision is ready.
      if (current.revision !== revision) {
        return { applied: false, orphan: current.publishedPrefix !== prefix } as const;
      }
      if (current.processingState === "ready" || current.processingState === "error") {
        return { applied: false, orphan: current.publishedPrefix !== prefix } as const;
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
        })
        .where(eq(videos.id, videoId));
      return {
        applied: true,
        replaced: current.publishedPrefix !== prefix ? current.publishedPrefix : null,
      } as const;
    });
    // Storage is tidied only after the database points at the new tree: viewers never hit a gap.
    if (outcome.applied && outcome.replaced) await this.deps.storage.deletePrefix(outcome.replaced);
    if (!outcome.applied && outcome.orphan) await this.deps.storage.deletePrefix(prefix);
    return outcome.applied;
  }

  private async failed(videoId: number, revision: number, message: string): Promise<boolean> {
    const rows = await this.deps.db
      .update(videos)
      .set({ processingState: "error", processingError: message })
      .where(
        and(
          eq(videos.id, videoId),
          eq(videos.revision, revision),
          inArray(videos.processingState, ["pending", "processing"]),
        ),
      )
      .returning({ id: videos.id });
    return rows.length > 0;
  }
}

/** Consumes the video-events queue; BullMQ hands each event to one replica and retries it on failure. */
export function startVideoEventConsumer(deps: {
  connection: Redis;
  applier: VideoStateApplier;
  log: Logger;
}) {
  const worker = new Worker<VideoEvent>(VIDEO_EVENTS_QUEUE, (job) => deps.applier.apply(job.data), {
    connection: deps.connection,
    concurrency: 4,
  });
  worker.on("failed", (job, error) =>
    deps.log.error({ event_id: job?.id, err: error }, "applying a video event failed; it will be retried"),
  );
  worker.on("error", (error) => deps.log.error({ err: error }, "video event consumer error"));
  return worker;
}
