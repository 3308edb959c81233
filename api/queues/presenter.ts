import type { FailedJob, KnownTranscoder } from "./farm.ts";
import type { FarmModel } from "./model.ts";

type Transcoder = (typeof FarmModel.overview.static)["transcoders"][number];

/** A transcoder from its heartbeat; last seen and uptime as Redis's clock has them (api/queues/farm.ts). */
export function presentTranscoder({
  heartbeat,
  jobs,
  lastSeenAt,
  silentMs,
  uptimeMs,
}: KnownTranscoder): Transcoder {
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
    last_seen_seconds_ago: Math.floor(silentMs / 1000),
    jobs: jobs.map(({ job, title, progress }) => ({
      job_id: job.jobId,
      video_id: job.videoId,
      revision: job.revision,
      attempt: job.attempt,
      started_at: job.startedAt,
      title,
      progress: progress && {
        percent: Math.round(progress.percent * 10) / 10,
        stage: progress.stage,
        eta_seconds:
          progress.etaSeconds !== null && Number.isFinite(progress.etaSeconds) ? progress.etaSeconds : null,
      },
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
  title: job.title,
  video_state: job.videoState,
  current: job.current,
});
