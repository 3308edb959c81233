import type { Logger } from "pino";
import type { HwAccelMode, HwAccelSetting } from "./modes.ts";
import { cudaWorks, nvencWorks } from "./self-test.ts";

/**
 * Turns the configured acceleration into the one this host really has, by encoding a few frames:
 * a GPU that lacks NVENC (or a container without the device) falls back with a clear log line.
 */
export async function resolveHwAccel(requested: HwAccelSetting, log: Logger): Promise<HwAccelMode> {
  if (requested === "none") return "none";
  if (requested === "cuda-decode") {
    if (await cudaWorks()) return "cuda-decode";
    log.warn(
      "TRANSCODER_HWACCEL=cuda-decode but CUDA decoding does not work here: falling back to libx264 on the CPU",
    );
    return "none";
  }
  if (await nvencWorks()) {
    log.info("NVENC self-test passed: encoding with h264_nvenc");
    return "nvenc";
  }
  const fallback = (await cudaWorks()) ? "cuda-decode" : "none";
  const message =
    fallback === "cuda-decode"
      ? "NVENC self-test failed (no NVENC engine): decoding and scaling on CUDA, encoding with libx264"
      : "NVENC self-test failed: encoding with libx264 on the CPU";
  if (requested === "nvenc") log.warn(`TRANSCODER_HWACCEL=nvenc: ${message}`);
  else log.info(`TRANSCODER_HWACCEL=auto: ${message}`);
  return fallback;
}
