import type { FailedJob, OnlineTranscoder } from "./farm.ts";
import type { FarmModel } from "./model.ts";

type Transcoder = (typeof FarmModel.overview.static)["transcoders"][number];

/** A transcoder from its heartbeat; last seen and uptime as Redis's clock has them (api/queues/farm.ts). */
export function presentTranscoder({ heartbeat, lastSeenAt, uptimeMs }: OnlineTranscoder): Transcoder {
  return {
    name: heartbeat.name,
    host: heartbeat.host,
    pid: heartbeat.pid,
    hwaccel: heartbeat.hwaccel,
    encoder: heartbeat.encoder,
    gpu: heartbeat.hwaccel !== "none",
    concurrency: heartbeat.concurrency,
    started_at: heartbeat.startedAt,
    uptime_seconds: Math.round(uptimeMs / 1000),
    last_seen_at: lastSeenAt.toISOString(),
    jobs: heartbeat.jobs.map((job) => ({
      job_id: job.jobId,
      video_id: job.videoId,
      revision: job.revision,
      attempt: job.attempt,
      started_at: job.startedAt,
    })),
  };
}

export const presentFailedJob = (job: FailedJob): typeof FarmModel.failedJob.static => ({
  job_id: job.jobId,
  video_id: job.videoId,
  revision: job.revision,
  attempts_made: job.attemptsMade,
  error: job.error,
  failed_at: job.failedAt?.toISOString() ?? null,
  video_state: job.videoState,
  current: job.current,
});
