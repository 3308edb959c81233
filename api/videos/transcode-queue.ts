import { type Job, Queue } from "bullmq";
import type Redis from "ioredis";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, type TranscodeJob, transcodeJobId } from "../../contract/transcode-jobs.ts";
import { filmJobDataWithoutFlow, flowOfFilmJob } from "../../contract/transcode-pieces.ts";
import { mayFastStart } from "./fast-start-trees.ts";

export interface VideoRevisionRef {
  id: number;
  revision: number;
  sourceKey: string;
  /** Decides whether the job may make a fast-start tree first (never over a published ladder). */
  publishedPrefix?: string | null;
}

/** The api's side of the transcode queue: one job per video revision, idempotent by job id. */
export class TranscodeQueue {
  readonly queue: Queue<TranscodeJob, TranscodeResult>;

  constructor(
    connection: Redis,
    private readonly options: { attempts: number; backoffSeconds: number },
  ) {
    this.queue = new Queue<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, { connection });
  }

  /** Adds the revision's job unless it exists already (BullMQ ignores a duplicate job id). */
  async enqueue(video: VideoRevisionRef): Promise<void> {
    await this.dropForeign(video);
    await this.queue.add(
      "transcode",
      {
        videoId: video.id,
        revision: video.revision,
        sourceKey: video.sourceKey,
        outputPrefix: outputPrefixFor(video.id, video.revision),
        fastStart: mayFastStart({ publishedPrefix: video.publishedPrefix ?? null }),
      },
      {
        jobId: transcodeJobId(video.id, video.revision),
        attempts: this.options.attempts,
        backoff: { type: "exponential", delay: this.options.backoffSeconds * 1000 },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 5000 },
      },
    );
  }

  /** Runs a failed revision again from a clean slate of attempts, or enqueues it if it was trimmed. */
  async retry(video: VideoRevisionRef): Promise<void> {
    const job = await this.job(video.id, video.revision);
    if (job && (await job.isFailed())) {
      await this.dropRecordedFlow(job);
      // attemptsStarted keeps counting: the job history numbers each run by it (no maxStartedAttempts).
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: false });
      return;
    }
    if (job && (await job.isCompleted())) await job.remove();
    await this.enqueue(video);
  }

  /**
   * A film's job that BullMQ failed itself (its runs stalled too often) still names the flow its dead
   * runs planned: the transcoders forget a flow only when they fail the film. A retry is a clean slate:
   * it plans a flow of its own and opens its own attempt in the job history, and the old flow's pieces
   * that never started go (any still running stop, no longer named by their parent).
   */
  private async dropRecordedFlow(job: Job<TranscodeJob, TranscodeResult>): Promise<void> {
    if (flowOfFilmJob(job.data) === null) return;
    await job.updateData(filmJobDataWithoutFlow(job.data) as TranscodeJob);
    await job.removeUnprocessedChildren();
  }

  /**
   * True when the queue's job for this revision is about another file: left by an earlier database on
   * the same Redis (a reset, or a second install sharing it). Its result must never stand for this one.
   */
  static isForeign(job: Job<TranscodeJob, unknown>, video: VideoRevisionRef): boolean {
    return job.data.sourceKey !== video.sourceKey;
  }

  /** Removes a foreign job of the revision's id so the revision's own can be added (not while it runs). */
  private async dropForeign(video: VideoRevisionRef): Promise<void> {
    const job = await this.job(video.id, video.revision);
    if (!job || !TranscodeQueue.isForeign(job, video)) return;
    if ((await job.getState()) === "active") {
      throw new Error(`job ${job.id} of another file is running; it is replaced once it ends`);
    }
    await job.remove();
  }

  job(videoId: number, revision: number): Promise<Job<TranscodeJob, TranscodeResult> | undefined> {
    return this.queue.getJob(transcodeJobId(videoId, revision));
  }

  /**
   * Drops a revision's job if no worker holds it; an active one finishes and its output is discarded.
   * Says which: "removed" (a run that waited or was handed back will never report), "running" (a run
   * reports as it ends) or "absent".
   */
  async discard(videoId: number, revision: number): Promise<"removed" | "running" | "absent"> {
    const job = await this.job(videoId, revision);
    if (!job) return "absent";
    if ((await job.getState()) === "active") return "running";
    // BullMQ refuses to remove a job while a worker holds it or, for a film waiting for its pieces,
    // while one of its pieces runs. The job stays then: the running piece finds the source gone and
    // stops, its failure wakes the film's job, whose run drops the flow (pieces and scratch) and
    // reports the attempt's end (transcoder/worker.ts: the source is gone).
    return job.remove().then(
      () => "removed" as const,
      () => "running" as const,
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
