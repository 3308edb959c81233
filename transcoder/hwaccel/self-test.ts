// Whether this host's GPU really works with FFmpeg: listing h264_nvenc or the cuda hwaccel proves
// nothing (they are compiled in everywhere); a tiny real encode or decode does.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "../ffmpeg-process.ts";

const CHECK_TIMEOUT_MS = 30_000;
const TEST_PICTURE = ["-f", "lavfi", "-i", "testsrc2=s=256x144:r=25:d=0.2"];

/** A fifth of a second encoded with h264_nvenc. */
export async function nvencWorks(): Promise<boolean> {
  const result = await runProcess(
    [
      "ffmpeg",
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      ...TEST_PICTURE,
      "-c:v",
      "h264_nvenc",
      "-f",
      "null",
      "-",
    ],
    { timeoutMs: CHECK_TIMEOUT_MS },
  );
  return result.exitCode === 0;
}

/**
 * A tiny H.264 file decoded with NVDEC into CUDA frames and scaled with scale_cuda. Had NVDEC failed,
 * FFmpeg would fall back to CPU frames, which scale_cuda refuses: success means the GPU did the work.
 */
export async function cudaWorks(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "cuda-check-"));
  try {
    const sample = join(dir, "sample.mp4");
    const made = await runProcess(
      [
        ...["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", ...TEST_PICTURE],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", sample],
      ],
      { timeoutMs: CHECK_TIMEOUT_MS },
    );
    if (made.exitCode !== 0) return false;
    const decoded = await runProcess(
      [
        ...[
          "ffmpeg",
          "-nostdin",
          "-hide_banner",
          "-v",
          "error",
          "-hwaccel",
          "cuda",
          "-hwaccel_output_format",
          "cuda",
        ],
        ...["-i", sample, "-vf", "scale_cuda=128:72:format=nv12,hwdownload,format=nv12", "-f", "null", "-"],
      ],
      { timeoutMs: CHECK_TIMEOUT_MS },
    );
    return decoded.exitCode === 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
