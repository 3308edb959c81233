import { Queue } from "bullmq";
import type Redis from "ioredis";
import {
  PROGRESS_CHANNEL,
  progressKey,
  type TranscodeProgress,
  VIDEO_EVENTS_QUEUE,
  type VideoEvent,
  videoEventJobId,
} from "./contract.ts";

const PROGRESS_TTL_SECONDS = 3600;

/**
 * How a transcoder tells the api what happens: state changes as durable jobs on the video-events
 * queue (one api replica applies each, retried until it sticks), progress as pub/sub ticks plus the
 * latest tick in a key for anyone who asks later.
 */
export class StateReporter {
  private readonly events: Queue;

  constructor(
    connection: Redis,
    private readonly redis: Redis,
  ) {
    this.events = new Queue(VIDEO_EVENTS_QUEUE, {
      connection,
      defaultJobOptions: {
        attempts: 20,
        backoff: { type: "exponential", delay: 1000 },
        removeOnComplete: { count: 5000 },
        removeOnFail: { count: 5000 },
      },
    });
  }

  async state(event: VideoEvent): Promise<void> {
    await this.events.add(event.type, event, { jobId: videoEventJobId(event) });
    if (event.type !== "processing") await this.redis.del(progressKey(event.videoId));
  }

  /** Publishes a tick, stamped with the time it is sent (`at`) unless the caller stamped it already. */
  async progress(progress: TranscodeProgress): Promise<void> {
    const message = JSON.stringify({ ...progress, at: progress.at ?? Date.now() });
    await this.redis
      .multi()
      .set(progressKey(progress.videoId), message, "EX", PROGRESS_TTL_SECONDS)
      .publish(PROGRESS_CHANNEL, message)
      .exec();
  }

  close(): Promise<void> {
    return this.events.close();
  }
}
