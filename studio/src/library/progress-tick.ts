// What one `video.progress` tick from the WebSocket does to the library row it names. Ticks are not
// ordered against the row's own reads, and a replaced file's old job may still be running and ticking.
import type { AdminVideo, RealtimeEvent } from "../api/types.ts";

export type ProgressTick = Extract<RealtimeEvent, { type: "video.progress" }>;

/**
 * The row with the tick applied; `"stale"` when the tick is of an older revision than the row (the old
 * job of a replaced file: ignored), `"behind"` when it is of a newer one (the row has not been read since
 * the replacement: read it again).
 */
export function applyProgressTick(row: AdminVideo, tick: ProgressTick): AdminVideo | "stale" | "behind" {
  if (tick.revision < row.revision) return "stale";
  if (tick.revision > row.revision) return "behind";
  // A ready row is final for its revision; a late tick must not turn it back into a bar.
  if (row.processing_state === "ready") return row;
  // Within one revision the job's percent only grows: a tick overtaken by a newer one (or by a read of
  // the row) never moves the bar back.
  const overtaken = row.processing_state === "processing" && tick.percent < row.progress.percent;
  return {
    ...row,
    processing_state: tick.state,
    processing_error: null,
    progress: overtaken
      ? row.progress
      : { percent: tick.percent, stage: tick.stage, eta_seconds: tick.eta_seconds },
  };
}
