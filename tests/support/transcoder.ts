// The queues and the transcoder's side of a test without a real worker: a TranscodeReporter on the api's
// Redis that publishes a tree and reports it ready, and BullMQ handles on the two queues.
import { Queue } from "bullmq";
import Redis from "ioredis";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { TRANSCODE_QUEUE, type TranscodeJob } from "../../contract/transcode-jobs.ts";
import { TRANSCODE_REPORTS_QUEUE, type TranscodeReport } from "../../contract/transcode-reports.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import { eventually } from "./eventually.ts";
import type { TestApi } from "./test-api.ts";

/** A transcoder's side of a test: its own TranscodeReporter on two connections to the api's Redis. */
export class TestTranscoder {
  private readonly bull: Redis;
  private readonly plain: Redis;
  readonly reporter: TranscodeReporter;
  private readonly events: Queue;

  constructor(private readonly api: TestApi) {
    this.bull = bullConnection(api);
    this.plain = bullConnection(api);
    this.reporter = new TranscodeReporter(this.bull, this.plain);
    this.events = videoEventsQueue(this.bull);
  }

  /**
   * Sends the reports in the order given, each applied by the api before the next: the reports queue
   * has nothing waiting, running, retried or failed.
   */
  async deliver(...reports: TranscodeReport[]): Promise<void> {
    for (const report of reports) {
      await this.reporter.report(report);
      await eventually("transcode reports to be applied", async () => {
        const counts = await this.events.getJobCounts("wait", "active", "delayed", "prioritized", "failed");
        return Object.values(counts).every((n) => n === 0);
      });
    }
  }

  /** Publishes a staged tree as the video's revision and reports it ready, as a worker does. */
  async publishReady(videoId: number, stagingDir: string, result: TranscodeResult, revision = 1) {
    await this.api.runtime.storage.publishDirectory(stagingDir, outputPrefixFor(videoId, revision));
    await this.reporter.report({ type: "ready", videoId, revision, result, at: new Date().toISOString() });
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.reporter.close();
    this.bull.disconnect();
    this.plain.disconnect();
  }
}

/** A Redis connection as BullMQ wants it (blocking commands retry forever). */
export function bullConnection(api: TestApi): Redis {
  return new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
}

export function transcodeQueue(connection: Redis): Queue<TranscodeJob, TranscodeResult> {
  return new Queue<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, { connection });
}

export function videoEventsQueue(connection: Redis): Queue {
  return new Queue(TRANSCODE_REPORTS_QUEUE, { connection });
}
