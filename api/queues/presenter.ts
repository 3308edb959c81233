import type { TranscoderHeartbeat } from "../../contract/transcoder-heartbeats.ts";
import type { FailedJob } from "./farm.ts";
import type { FarmModel } from "./model.ts";

type Transcoder = (typeof FarmModel.overview.static)["transcoders"][number];

/** A transcoder from its heartbeat; uptime by the api's clock against the transcoder's start. */
export function presentTranscoder(heartbeat: TranscoderHeartbeat, now: Date): Transcoder {
  return {
    name: heartbeat.name,
    host: heartbeat.host,
    pid: heartbeat.pid,
    hwaccel: heartbeat.hwaccel,
    encoder: heartbeat.encoder,
    gpu: heartbeat.hwaccel !== "none",
    concurrency: heartbeat.concurrency,
    started_at: heartbeat.startedAt,
    uptime_seconds: Math.max(0, Math.round((now.getTime() - Date.parse(heartbeat.startedAt)) / 1000)),
    last_seen_at: new Date(heartbeat.sentAt).toISOString(),
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
