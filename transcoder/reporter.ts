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
 * How a transcoder tells the api what happens: state changes as durable reports on the
 * transcode-reports queue (one api replica applies each, retried until it sticks), progress as pub/sub ticks plus the
 * latest tick in a key for anyone who asks later.
 */
export class StateReporter {
  private readonly events: Queue;

  constructor(
    connection: Redis,
    private readonly redis: Redis,
  ) {
    this.events = new Queue(transcodeReports.name, {
      connection,
      defaultJobOptions: {
        attempts: 20,
        backoff: { type: "exponential", delay: 1000 },
        removeOnComplete: { count: 5000 },
        removeOnFail: { count: 5000 },
      },
    });
  }

  async state(event: TranscodeReport): Promise<void> {
    await this.events.add(event.type, event, { jobId: transcodeReportJobId(event) });
    if (event.type !== "processing") await this.redis.del(progressKey(event.videoId));
  }

  /** Publishes a tick, stamped with the time it is sent (`at`) unless the caller stamped it already. */
  async progress(progress: TranscodeProgress): Promise<void> {
    const message = progressChannel.encode({ ...progress, at: progress.at ?? Date.now() });
    await this.redis
      .multi()
      .set(progressKey(progress.videoId), message, "EX", PROGRESS_TTL_SECONDS)
      .publish(progressChannel.name, message)
      .exec();
  }

  close(): Promise<void> {
    return this.events.close();
  }
}
