// What one `video.progress` tick from the WebSocket does to the farm shown: the running job it belongs
// to gets its bar moved in place. A tick of a job no transcoder is shown running is news the heartbeats
// have not brought yet (a job just started): the page reads the farm again rather than guess where it runs.
// Ticks name their run (`attempt`): a run that crashed or stalled leaves ticks behind that are no
// measure of the next run of the same job, which starts again from nothing.
import type { FarmJob, FarmOverview, RealtimeEvent } from "../api/types.ts";

export type ProgressTick = Extract<RealtimeEvent, { type: "video.progress" }>;

/** The job and run a tick is about, to remember the ticks a read could not place. */
export const tickRun = (tick: ProgressTick): string => `${tick.id}:${tick.revision}:${tick.attempt ?? "?"}`;

/** How a tick relates to a job shown: its run's, an earlier run's (late news), or another job's. */
function relation(job: FarmJob, tick: ProgressTick): "same" | "earlier" | "other" {
  if (job.video_id !== tick.id || job.revision !== tick.revision) return "other";
  // Older transcoders' ticks name no run: taken for the run shown.
  if (tick.attempt === undefined || tick.attempt === job.attempt) return "same";
  return tick.attempt < job.attempt ? "earlier" : "other";
}

/**
 * The farm with the tick applied, or `"not-shown"` when no online transcoder runs that job's run (a
 * later run than the one shown is news: read again). A tick of an earlier run changes nothing.
 */
export function applyFarmTick(farm: FarmOverview, tick: ProgressTick): FarmOverview | "not-shown" {
  const relations = farm.transcoders.flatMap((transcoder) =>
    transcoder.jobs.map((job) => relation(job, tick)),
  );
  if (!relations.includes("same")) return relations.includes("earlier") ? farm : "not-shown";
  return {
    ...farm,
    transcoders: farm.transcoders.map((transcoder) => {
      if (!transcoder.jobs.some((job) => relation(job, tick) === "same")) return transcoder;
      return {
        ...transcoder,
        jobs: transcoder.jobs.map((job) => {
          if (relation(job, tick) !== "same") return job;
          // Within one run the percent only grows: a tick overtaken by a newer read never moves it back.
          if (job.progress && tick.percent < job.progress.percent) return job;
          return {
            ...job,
            progress: { percent: tick.percent, stage: tick.stage, eta_seconds: tick.eta_seconds },
          };
        }),
      };
    }),
  };
}

/**
 * The farm as read again, keeping each running job's progress where the socket already took it further
 * (the read's progress comes from the key the transcoder writes, which a pushed tick may have overtaken).
 * Only within one run: a new run's bar starts from its own ticks.
 */
export function keepNewerProgress(shown: FarmOverview | null, read: FarmOverview): FarmOverview {
  if (!shown) return read;
  const before = new Map(
    [...shown.transcoders, ...shown.quiet_transcoders].flatMap((transcoder) =>
      transcoder.jobs.map((job) => [job.job_id, job] as const),
    ),
  );
  const keep = (transcoder: FarmOverview["transcoders"][number]) => ({
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
  });
  // A transcoder gone quiet keeps the bar it had when it was last seen running (its video's key may be
  // gone by now: deleted, or expired).
  return {
    ...read,
    transcoders: read.transcoders.map(keep),
    quiet_transcoders: read.quiet_transcoders.map(keep),
  };
}
