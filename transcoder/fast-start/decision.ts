// Whether a job gets the fast-start pass. `FAST_START=auto` skips it on a GPU whose ladder runs faster
// than real time (measured once at start-up, ladder-speed.ts): there the ladder itself is published
// before a viewer could catch up with a fast rendition, and the extra pass would only delay `ready`.
// A fast-start playlist an earlier attempt left unended is always continued, whatever this worker's
// settings: viewers may be playing it, and only a pass that runs to its end closes it.
import type { FastStartSetting } from "../config.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";

/** A measured ladder speed at or above this (× real time) makes `auto` skip the pass on a GPU. */
export const GPU_SKIP_SPEED = 1.5;

export interface FastStartInput {
  setting: FastStartSetting;
  /** What the job says (the api's decision: never over an already published ladder). */
  allowedByJob: boolean;
  durationSeconds: number;
  minSeconds: number;
  hwaccel: HwAccelMode;
  /** The ladder's measured speed on this GPU (× real time), or null when not measured. */
  gpuLadderSpeed: number | null;
  /** An earlier attempt of this revision published a fast-start playlist without #EXT-X-ENDLIST. */
  unendedTree: boolean;
}

export interface FastStartDecision {
  run: boolean;
  /** Said in the job's log line. */
  reason: string;
}

export function decideFastStart(input: FastStartInput): FastStartDecision {
  if (input.unendedTree) {
    return {
      run: true,
      reason: "an earlier attempt left the fast-start playlist unended: resuming it whatever FAST_START says",
    };
  }
  if (input.setting === "off") return { run: false, reason: "FAST_START=off" };
  if (!input.allowedByJob)
    return { run: false, reason: "the job does not allow it (its video was ready before)" };
  if (input.durationSeconds < input.minSeconds) {
    return {
      run: false,
      reason: `the source is shorter than FAST_START_MIN_SECONDS (${input.minSeconds} s)`,
    };
  }
  if (input.setting === "auto" && input.hwaccel !== "none" && input.gpuLadderSpeed !== null) {
    if (input.gpuLadderSpeed >= GPU_SKIP_SPEED) {
      return {
        run: false,
        reason: `FAST_START=auto: the ${input.hwaccel} ladder runs at ${input.gpuLadderSpeed.toFixed(1)}× real time`,
      };
    }
    return {
      run: true,
      reason: `FAST_START=auto: the ${input.hwaccel} ladder runs at only ${input.gpuLadderSpeed.toFixed(1)}× real time`,
    };
  }
  return { run: true, reason: `FAST_START=${input.setting}` };
}
