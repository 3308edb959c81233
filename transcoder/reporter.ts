import { Queue } from "bullmq";
import type Redis from "ioredis";
import { progressChannel, progressKey, type TranscodeProgress } from "../contract/progress.ts";
import {
  type TranscodeReport,
  transcodeReportJobId,
  transcodeReports,
} from "../contract/transcode-reports.ts";
import type { TickOrder } from "./progress.ts";

const PROGRESS_TTL_SECONDS = 3600;

/**
 * An ordered tick's publication, in one step: the tick goes out (key and channel) only when its
 * snapshot is later than the last one published from the same record, which then remembers it (a
 * record gone, expired, is never made again without its TTL: its late tick is dropped).
 * KEYS: the record (a film's flow hash), the video's progress key. ARGV: seq, message, TTL, channel.
 */
const PUBLISH_IN_ORDER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local published = tonumber(redis.call('HGET', KEYS[1], '~published') or '0')
if tonumber(ARGV[1]) <= published then return 0 end
redis.call('HSET', KEYS[1], '~published', ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1`;

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

  /**
   * Publishes a tick, stamped with the time it is sent (`at`) unless the caller stamped it already.
   * With `order` (a film's tick, computed from its flow hash), a tick that a later snapshot's tick
   * overtook is dropped: the film's progress would otherwise step back when two replicas' ticks cross.
   */
  async progress(progress: TranscodeProgress, order?: TickOrder): Promise<void> {
    const message = progressChannel.encode({ ...progress, at: progress.at ?? Date.now() });
    const key = progressKey(progress.videoId);
    const channel = progressChannel.nameOn(this.redis);
    if (order) {
      await this.redis.eval(
        PUBLISH_IN_ORDER,
        2,
        order.key,
        key,
        order.seq,
        message,
        PROGRESS_TTL_SECONDS,
        channel,
      );
      return;
    }
    await this.redis.multi().set(key, message, "EX", PROGRESS_TTL_SECONDS).publish(channel, message).exec();
  }

  close(): Promise<void> {
    return this.reports.close();
  }
}
