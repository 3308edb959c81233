// Tiny test videos made with FFmpeg's lavfi sources (testsrc2 with a little noise for motion, a sine
// for sound), and the broken or odd uploads the transcoder must cope with. Keep them small: these
// tests run on two cores beside everything else.
import { rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { runProcess } from "../transcoder/ffmpeg-process.ts";

export interface VideoSpec {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  audio: "stereo" | "5.1" | "none";
  pixFmt?: "yuv420p" | "yuv420p10le" | "yuv444p";
  /** Encode as interlaced (top field first) and flag it so. */
  interlaced?: boolean;
  /** Stored sideways with rotate metadata, as phones do: the display size is height × width. */
  rotate?: 90;
  /** Drop two frames in three after the first second: real timestamps, no constant rate. */
  vfr?: boolean;
  /** h264-lossless: about 6 MB a second at 640×360, for uploads of many chunks from a short source. */
  codec?: "h264" | "h264-lossless" | "hevc" | "mpeg2";
  /** Exactly this many frames (overrides `seconds` for the video). */
  frames?: number;
  /** Move the index to the front (`-movflags +faststart`), as uploads from most tools have it. */
  faststart?: boolean;
}

const ENCODERS = {
  h264: ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28"],
  "h264-lossless": ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"],
  hevc: ["-c:v", "libx265", "-preset", "ultrafast", "-crf", "30", "-x265-params", "log-level=error"],
  mpeg2: ["-c:v", "mpeg2video", "-q:v", "6"],
} as const;

async function ffmpeg(args: string[]): Promise<void> {
  const result = await runProcess(["ffmpeg", "-hide_banner", "-v", "error", "-y", ...args], {
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0) throw new Error(`test media: ffmpeg failed: ${result.stderr.trim()}`);
}

/** Writes a small video (MP4, or MPEG-TS when the path ends in .ts) described by `spec`. */
export async function generateVideo(path: string, spec: VideoSpec): Promise<string> {
  const { seconds, width, height, fps, audio } = spec;
  const codec = spec.codec ?? "h264";
  const inputs = ["-f", "lavfi", "-i", `testsrc2=s=${width}x${height}:r=${fps}:d=${seconds}`];
  if (audio === "stereo") {
    inputs.push(
      "-f",
      "lavfi",
      "-i",
      `aevalsrc=0.3*sin(440*2*PI*t)|0.3*sin(550*2*PI*t):c=stereo:s=48000:d=${seconds}`,
    );
  } else if (audio === "5.1") {
    // One expression per channel would be tedious: the last expression fills the remaining ones.
    inputs.push(
      "-f",
      "lavfi",
      "-i",
      `aevalsrc=0.3*sin(440*2*PI*t)|0.3*sin(660*2*PI*t):c=5.1:s=48000:d=${seconds}`,
    );
  }
  const filters = ["noise=alls=6:allf=t"];
  // testsrc2 draws 4:2:0 and rounds odd sizes down: stretch to the odd size in 4:4:4 afterwards.
  if (width % 2 || height % 2) filters.push(`format=yuv444p,scale=${width}:${height}`);
  if (spec.vfr) filters.push("select='lt(t\\,1)+not(mod(n\\,3))'");
  const args = [
    ...inputs,
    "-vf",
    filters.join(","),
    ...ENCODERS[codec],
    "-pix_fmt",
    spec.pixFmt ?? "yuv420p",
  ];
  if (spec.vfr) args.push("-fps_mode", "vfr");
  if (spec.interlaced) {
    args.push("-flags", "+ildct+ilme", "-field_order", "tt");
    if (codec === "h264") args.push("-x264-params", "tff=1");
  }
  if (spec.frames !== undefined) args.push("-frames:v", String(spec.frames));
  if (audio !== "none") args.push("-c:a", "aac", "-b:a", "96k", "-shortest");
  if (spec.faststart) args.push("-movflags", "+faststart");
  if (!spec.rotate) {
    await ffmpeg([...args, path]);
    return path;
  }
  // FFmpeg 5.1 only writes the rotation when stream-copying, so encode first, then remux with it.
  const sideways = `${path}.sideways.mp4`;
  await ffmpeg([...args, sideways]);
  await ffmpeg(["-i", sideways, "-map", "0", "-c", "copy", "-metadata:s:v:0", `rotate=${spec.rotate}`, path]);
  await rm(sideways, { force: true });
  return path;
}

const SMALL: VideoSpec = { seconds: 2, width: 320, height: 180, fps: 30, audio: "stereo" };

export async function writeZeroBytes(path: string): Promise<string> {
  await writeFile(path, new Uint8Array());
  return path;
}

/**
 * Noise: the same bytes on every run (xorshift32 from a fixed seed). ffprobe guesses a format from the
 * content, and now and then fresh random bytes score as a raw stream (refused as an unsupported
 * container, not as unreadable): both are right, but a test must take the same path every time.
 */
export async function writeRandomBytes(path: string, bytes = 256 * 1024, seed = 0x9e3779b9): Promise<string> {
  const noise = new Uint8Array(bytes);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    noise[i] = state & 0xff;
  }
  await writeFile(path, noise);
  return path;
}

/** A text file someone renamed to `.mp4`. */
export async function writeTextAsVideo(path: string): Promise<string> {
  await writeFile(path, "Meeting notes\n\n- ship the transcoder\n- review the ladder\n".repeat(200));
  return path;
}

/**
 * An upload cut off at `keep` of its bytes. With the index at the front (`index: "kept"`) the file
 * claims its full duration but the data stops early; with the index at the end it is simply gone.
 */
export async function generateTruncatedMp4(
  path: string,
  options: { index: "kept" | "missing"; keep?: number; seconds?: number } = { index: "kept" },
): Promise<string> {
  const complete = `${path}.complete.mp4`;
  await generateVideo(complete, {
    ...SMALL,
    seconds: options.seconds ?? 3,
    faststart: options.index === "kept",
  });
  const { size } = await stat(complete);
  await truncate(complete, Math.floor(size * (options.keep ?? 0.6)));
  await rename(complete, path);
  return path;
}

/** An M4A-style file: AAC sound, no picture. */
export async function generateAudioOnly(path: string, seconds = 2): Promise<string> {
  await ffmpeg(["-f", "lavfi", "-i", `sine=f=440:sample_rate=48000:d=${seconds}`, "-c:a", "aac", path]);
  return path;
}

/** A "video" of exactly one frame. */
export function generateSingleFrame(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, audio: "none", frames: 1 });
}

/** Odd dimensions (321×241), which 4:2:0 cannot hold: stored 4:4:4, as screen recorders sometimes do. */
export function generateOddDimensions(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, width: 321, height: 241, pixFmt: "yuv444p" });
}

/** A phone video: stored 1920×1080 with rotate=90, shown 1080×1920. */
export function generateRotatedPortrait(path: string, seconds = 2): Promise<string> {
  return generateVideo(path, { seconds, width: 1920, height: 1080, fps: 30, audio: "stereo", rotate: 90 });
}

export function generateTenBit(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, codec: "hevc", pixFmt: "yuv420p10le" });
}

export function generateInterlaced(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, width: 720, height: 576, fps: 25, interlaced: true });
}

export function generateNoAudio(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, audio: "none" });
}

export function generateSurround(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, audio: "5.1" });
}

export function generateVariableFrameRate(path: string): Promise<string> {
  return generateVideo(path, { ...SMALL, seconds: 3, vfr: true });
}
