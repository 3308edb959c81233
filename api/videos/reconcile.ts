import type { Job } from "bullmq";
import { inArray } from "drizzle-orm";
import type { Logger } from "pino";
import { type TranscodeJob, transcodeResults } from "../../contract/transcode-jobs.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import type { Database } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import { readableFailure } from "../shared/job-failures.ts";
import { UNFINISHED_STATES, type VideoLifecycle } from "./lifecycle.ts";
import { TranscodeQueue } from "./transcode-queue.ts";

/** What a job that settled without its report landing says: its failure, or its checked result. */
function settledReport(
  job: Job<TranscodeJob, unknown>,
  state: "failed" | "completed",
  video: { id: number; revision: number },
  at: string,
): TranscodeReport {
  const revision = { videoId: video.id, revision: video.revision, at };
  if (state === "failed") return { type: "error", ...revision, message: readableFailure(job.failedReason) };
  const result = transcodeResults.check(job.returnvalue);
  return result.ok
    ? { type: "ready", ...revision, result: result.value }
    : {
        type: "error",
        ...revision,
        message: `Transcoding finished but its result could not be read (${result.reason}).`,
      };
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
    .select({
      id: videos.id,
      revision: videos.revision,
      sourceKey: videos.sourceKey,
      publishedPrefix: videos.publishedPrefix,
    })
    .from(videos)
    .where(inArray(videos.processingState, [...UNFINISHED_STATES]));
  let requeued = 0;
  let settled = 0;
  for (const video of unfinished) {
    const job = await deps.queue.job(video.id, video.revision);
    const state = job ? await job.getState() : "unknown";
    const at = new Date().toISOString();
    if (state === "unknown" || !job || (state !== "active" && TranscodeQueue.isForeign(job, video))) {
      await deps.queue.enqueue(video);
      requeued++;
      deps.log.warn(
        { video_id: video.id, revision: video.revision },
        "reconcile: transcode job was missing (or of another file), enqueued again",
      );
    } else if (state === "failed" || state === "completed") {
      const report = settledReport(job, state, video, at);
      if (await deps.lifecycle.applyReport(report)) settled++;
    }
  }
  if (requeued + settled > 0) deps.log.info({ requeued, settled }, "reconcile finished");
  return { requeued, settled };
}
