// A progress tick's per-pass part (fast-start pass and ladder, contract/progress.ts) in the API's
// spelling: the admin API and the WebSocket hub show it the same way.
import type { TranscodeProgress } from "../../contract/progress.ts";

/** One pass of a job as clients see it. */
export interface PassView {
  percent: number;
  eta_seconds: number | null;
}

/** The tick's per-pass progress in the API's spelling; undefined for a job without a fast-start pass. */
export function presentPasses(
  tick: Pick<TranscodeProgress, "passes">,
): { fast_start?: PassView; ladder?: PassView } | undefined {
  if (!tick.passes) return undefined;
  const view = (pass: { percent: number; etaSeconds: number | null }): PassView => ({
    percent: Math.round(Math.min(Math.max(pass.percent, 0), 100) * 10) / 10,
    eta_seconds: pass.etaSeconds,
  });
  const { fastStart, ladder } = tick.passes;
  return {
    ...(fastStart ? { fast_start: view(fastStart) } : {}),
    ...(ladder ? { ladder: view(ladder) } : {}),
  };
}
