// The two spellings of hardware acceleration: what an operator asks for (which may be `auto`) and what
// the worker really uses once the host has been self-tested (see ./index.ts).
import type { FilmEncoder } from "../../contract/transcode-pieces.ts";

/**
 * none: libx264 on the CPU. nvenc: decode, scale and encode on the GPU. cuda-decode: decode and
 * scale on the GPU (NVDEC), encode with libx264 (for GPUs without NVENC, like the H100).
 */
export type HwAccelMode = "none" | "nvenc" | "cuda-decode";

/** TRANSCODER_HWACCEL and the CLI's --hwaccel: a mode, or `auto` (the best one this host passes). */
export type HwAccelSetting = HwAccelMode | "auto";

export const HWACCEL_SETTINGS: readonly HwAccelSetting[] = ["none", "nvenc", "cuda-decode", "auto"];

export function isHwAccelSetting(value: string): value is HwAccelSetting {
  return (HWACCEL_SETTINGS as readonly string[]).includes(value);
}

/** The video encoder a mode runs (what a transcoder's heartbeat shows, and a film's pieces record). */
export const encoderOfMode = (mode: HwAccelMode): FilmEncoder =>
  mode === "nvenc" ? "h264_nvenc" : "libx264";
