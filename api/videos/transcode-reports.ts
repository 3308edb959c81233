// The api's end of the transcode-reports queue: BullMQ hands each report to one replica (retrying it
// on failure), the lifecycle applies it conditionally, so each transition lands exactly once.
import { Worker } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { transcodeReports } from "../../contract/transcode-reports.ts";
import type { VideoLifecycle } from "./lifecycle.ts";

export function startTranscodeReportConsumer(deps: {
  connection: Redis;
  lifecycle: VideoLifecycle;
  log: Logger;
}) {
  const worker = new Worker(
    transcodeReports.name,
    async (job) => {
      const report = transcodeReports.check(job.data);
      if (report.ok) return deps.lifecycle.applyReport(report.value);
      // Retrying cannot make it valid: drop it, loudly.
      deps.log.error({ report_id: job.id, reason: report.reason }, "dropped a malformed transcode report");
      return false;
    },
    { connection: deps.connection, concurrency: 4 },
  );
  worker.on("failed", (job, error) =>
    deps.log.error(
      { report_id: job?.id, err: error },
      "applying a transcode report failed; it will be retried",
    ),
  );
  // Its `error` events (connection trouble) are logged by the runtime, throttled with the other connections.
  return worker;
}
