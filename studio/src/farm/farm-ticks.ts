// What one `video.progress` tick from the WebSocket does to the farm shown: the running job it belongs
// to gets its bar moved in place. A tick of a job no transcoder is shown running is news the heartbeats
// have not brought yet (a job just started): the page reads the farm again rather than guess where it runs.
import type { FarmOverview, RealtimeEvent } from "../api/types.ts";

export type ProgressTick = Extract<RealtimeEvent, { type: "video.progress" }>;

/** The farm with the tick applied, or `"not-shown"` when no online transcoder runs that job. */
export function applyFarmTick(farm: FarmOverview, tick: ProgressTick): FarmOverview | "not-shown" {
  let shown = false;
  const transcoders = farm.transcoders.map((transcoder) => {
    if (!transcoder.jobs.some((job) => job.video_id === tick.id && job.revision === tick.revision)) {
      return transcoder;
    }
    shown = true;
    return {
      ...transcoder,
      jobs: transcoder.jobs.map((job) => {
        if (job.video_id !== tick.id || job.revision !== tick.revision) return job;
        // Within one run the percent only grows: a tick overtaken by a newer read never moves it back.
        if (job.progress && tick.percent < job.progress.percent) return job;
        return {
          ...job,
          progress: { percent: tick.percent, stage: tick.stage, eta_seconds: tick.eta_seconds },
        };
      }),
    };
  });
  return shown ? { ...farm, transcoders } : "not-shown";
}

/**
 * The farm as read again, keeping each running job's progress where the socket already took it further
 * (the read's progress comes from the key the transcoder writes, which a pushed tick may have overtaken).
 */
export function keepNewerProgress(shown: FarmOverview | null, read: FarmOverview): FarmOverview {
  if (!shown) return read;
  const before = new Map(
    shown.transcoders.flatMap((transcoder) => transcoder.jobs.map((job) => [job.job_id, job] as const)),
  );
  return {
    ...read,
    transcoders: read.transcoders.map((transcoder) => ({
      ...transcoder,
      jobs: transcoder.jobs.map((job) => {
        const earlier = before.get(job.job_id);
        const further =
          earlier?.progress &&
          earlier.revision === job.revision &&
          earlier.attempt === job.attempt &&
          (job.progress === null || earlier.progress.percent > job.progress.percent);
        return further ? { ...job, progress: earlier.progress } : job;
      }),
    })),
  };
}
