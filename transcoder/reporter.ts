import { Queue } from "bullmq";
import type Redis from "ioredis";
import { progressChannel, progressKey, type TranscodeProgress } from "../contract/progress.ts";
import {
  type TranscodeReport,
  transcodeReportJobId,
  transcodeReports,
} from "../contract/transcode-reports.ts";

const PROGRESS_TTL_SECONDS = 3600;

/**
 * How a transcoder tells the api what happens: state changes as durable reports on the transcode
 * reports queue (one api replica applies each, retried until it sticks), progress as pub/sub ticks
 * plus the latest tick in a key for anyone who asks later.
 */
export class TranscodeReporter {
  private readonly reports: Queue<TranscodeReport>;

  constructor(
    connection: Redis,
    private readonly redis: Redis,
  ) {
    this.reports = new Queue<TranscodeReport>(transcodeReports.name, {
      connection,
      defaultJobOptions: {
        attempts: 20,
        backoff: { type: "exponential", delay: 1000 },
        removeOnComplete: { count: 5000 },
        removeOnFail: { count: 5000 },
      },
    });
  }

  /** The reports queue, for its `error` events. */
  get queue(): Queue<TranscodeReport> {
    return this.reports;
  }

  async report(report: TranscodeReport): Promise<void> {
    await this.reports.add(report.type, report, { jobId: transcodeReportJobId(report) });
    // The job is over: its last tick says nothing any more (a playable job is still running).
    if (report.type === "ready" || report.type === "error") await this.redis.del(progressKey(report.videoId));
  }

  /** Publishes a tick, stamped with the time it is sent (`at`) unless the caller stamped it already. */
  async progress(progress: TranscodeProgress): Promise<void> {
    const message = progressChannel.encode({ ...progress, at: progress.at ?? Date.now() });
    await this.redis
      .multi()
      .set(progressKey(progress.videoId), message, "EX", PROGRESS_TTL_SECONDS)
      .publish(progressChannel.nameOn(this.redis), message)
      .exec();
  }

  close(): Promise<void> {
    return this.reports.close();
  }
}
