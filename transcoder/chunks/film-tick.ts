// The job's progress tick for a film whose pieces the farm encodes (chunks/flow-progress.ts reads it from
// the flow's hash): one percent over the whole job, as the one-host pipeline counts it, and each pass's
// own share when the film has a fast-start pass. Both passes run at once here (the fast-start pass on
// the planning replica, the ladder's pieces everywhere), so the job's percent is the sum of both slices.
import type { PipelineProgress } from "../pipeline.ts";
import { FAST_START_SLICES, STAGE_PERCENT } from "../pipeline.ts";
import { overallPercent } from "../progress.ts";
import type { FilmProgress } from "./flow-progress.ts";

const tenth = (value: number) => Math.round(value * 10) / 10;

export function filmTick(film: FilmProgress): PipelineProgress {
  const ladder = { percent: tenth(film.fraction * 100), etaSeconds: film.etaSeconds };
  const fast = film.fastStart;
  if (fast === null) {
    return {
      stage: "encoding",
      rung: "all",
      percent: overallPercent(ladder.percent, STAGE_PERCENT.encoding),
      etaSeconds: film.etaSeconds,
      order: film.order,
    };
  }
  // The ladder's slice counted from its own start: each pass adds its share of the job.
  const ladderShare =
    overallPercent(ladder.percent, FAST_START_SLICES.encoding) - FAST_START_SLICES.encoding[0];
  const running = fast.percent < 100;
  return {
    stage: running ? "fast-start" : "encoding",
    rung: running ? "fast-start" : "all",
    percent: tenth(overallPercent(fast.percent, FAST_START_SLICES["fast-start"]) + ladderShare),
    // The job is done when the ladder is: the fast-start pass ends long before.
    etaSeconds: film.etaSeconds,
    passes: { fastStart: fast, ladder },
    order: film.order,
  };
}
