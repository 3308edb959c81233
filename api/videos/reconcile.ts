import { inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import { UNFINISHED_STATES, type VideoLifecycle } from "./lifecycle.ts";
import type { TranscodeQueue } from "./transcode-queue.ts";

/** A job's failure reason as a sentence for the admin; BullMQ's own wording is not for people. */
export function readableFailure(reason: string | undefined): string {
  if (!reason) return "Transcoding failed for an unknown reason.";
  if (/stalled more than allowable limit/i.test(reason)) {
    return "The transcoder stopped while working on this video too many times (it may have crashed or run out of memory).";
  }
  return reason.startsWith("Transcoding failed") || /^The /.test(reason)
    ? reason
    : `Transcoding failed: ${reason}`;
}

/**
 * Makes sure no video stays pending or processing without a job that will finish it: a job that
 * vanished is enqueued again, one that failed or completed without its report landing is applied now.
 */
export async function reconcileVideos(deps: {
  db: Database;
  queue: TranscodeQueue;
  lifecycle: VideoLifecycle;
  log: Logger;
}): Promise<{ requeued: number; settled: number }> {
  const unfinished = await deps.db
    .select({ id: videos.id, revision: videos.revision, sourceKey: videos.sourceKey })
    .from(videos)
    .where(inArray(videos.processingState, [...UNFINISHED_STATES]));
  let requeued = 0;
  let settled = 0;
  for (const video of unfinished) {
    const job = await deps.queue.job(video.id, video.revision);
    const state = job ? await job.getState() : "unknown";
    const at = new Date().toISOString();
    if (state === "unknown" || !job) {
      await deps.queue.enqueue(video);
      requeued++;
      deps.log.warn(
        { video_id: video.id, revision: video.revision },
        "reconcile: transcode job was missing, enqueued again",
      );
    } else if (state === "failed") {
      const message = readableFailure(job.failedReason);
      if (
        await deps.lifecycle.applyReport({
          type: "error",
          videoId: video.id,
          revision: video.revision,
          message,
          at,
        })
      )
        settled++;
    } else if (state === "completed" && job.returnvalue) {
      const result = job.returnvalue;
      if (
        await deps.lifecycle.applyReport({
          type: "ready",
          videoId: video.id,
          revision: video.revision,
          result,
          at,
        })
      )
        settled++;
    }
  }
  if (requeued + settled > 0) deps.log.info({ requeued, settled }, "reconcile finished");
  return { requeued, settled };
}
