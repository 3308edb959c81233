// The poster: a handful of candidate frames spread over the video, each scored with sharp's
// statistics; near-black, near-white and flat frames (fades, title cards, slates) are passed over and
// the most detailed of the rest is kept, then written in every poster width as JPEG and WebP.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { PosterImage } from "../../contract/media.ts";
import { sourceInputArgs } from "../source-input.ts";
import { abortReason, ffmpegSeconds, runFfmpeg } from "./ffmpeg.ts";
import { mapLimit } from "./map-limit.ts";
import { heightFor, type ThumbnailPassOptions } from "./pass.ts";

export const POSTER_WIDTHS = [320, 640, 1280] as const;
/** Where the candidates are taken, as fractions of the duration (away from intros and credits). */
const CANDIDATES = [0.1, 0.25, 0.4, 0.55, 0.7];
/** Only looked at when every first candidate is black, white or flat (a dark film, a long slate). */
const MORE_CANDIDATES = [0.05, 0.18, 0.33, 0.48, 0.62, 0.8, 0.9];
/** Below this, the video is a blink: its first frame is the poster. */
const SHORT_VIDEO_SECONDS = 1;
/** Mean luminance (0–255) below which a frame is black, above which it is white. */
const BLACK_MEAN = 16;
const WHITE_MEAN = 240;
/** Luminance standard deviation below which a frame is one flat colour. */
const FLAT_STDEV = 8;
/** Frames are scored at this width: enough for statistics, and less sensitive to noise and grain. */
const SCORE_WIDTH = 320;
/** FFmpeg seeks and sharp encodes at a time: the storyboard's full decode runs beside them. */
const PARALLEL = 2;
const FRAME_TIMEOUT_MS = 60_000;

type PosterOptions = ThumbnailPassOptions;

interface Frame {
  file: string;
  width: number;
  height: number;
}

export interface FrameScore {
  /** Mean and standard deviation of the luminance, 0–255. */
  mean: number;
  stdev: number;
  /** Greyscale histogram entropy (bits) and Laplacian sharpness, from sharp's `stats()`. */
  entropy: number;
  sharpness: number;
  /** Neither near-black, near-white nor flat. */
  usable: boolean;
  /** Higher is better: detail (entropy), with a little weight on sharpness against motion blur. */
  score: number;
}

/** Widths of the posters made for a source `sourceWidth` wide: never wider than the source. */
export function posterWidths(sourceWidth: number): number[] {
  const widths = POSTER_WIDTHS.filter((width) => width <= sourceWidth);
  return widths.length > 0 ? widths : [sourceWidth];
}

export async function makePosters(options: PosterOptions): Promise<PosterImage[]> {
  const { source, signal } = options;
  const widths = posterWidths(source.width);
  // Candidates are taken at the largest poster width, so every poster is a downscale of the same frame.
  const width = Math.max(...widths);
  const size = { width, height: heightFor(width, source) };

  let frame: Frame | null = null;
  if (source.durationSeconds >= SHORT_VIDEO_SECONDS) {
    frame = await pickFrame(options, CANDIDATES, size);
    frame ??= await pickFrame(options, MORE_CANDIDATES, size, true);
  }
  // A very short video, or one whose candidates all fell past its real end: its first frame.
  frame ??= await extractFrame(options, null, size, "first");
  if (frame === null) throw new Error("thumbnails: FFmpeg decoded no frame for the poster");

  const pixels = await readFile(frame.file);
  const raw = { raw: { width: frame.width, height: frame.height, channels: 3 as const } };
  return mapLimit(widths, PARALLEL, async (posterWidth) => {
    if (signal.aborted) throw abortReason(signal);
    const height = heightFor(posterWidth, source);
    const resized = sharp(pixels, raw).resize(posterWidth, height, { fit: "fill", kernel: "lanczos3" });
    const jpeg = `poster-${posterWidth}.jpg`;
    const webp = `poster-${posterWidth}.webp`;
    await resized
      .clone()
      .jpeg({ quality: 80, progressive: true, mozjpeg: true })
      .toFile(join(options.outputDir, jpeg));
    await resized.clone().webp({ quality: 78 }).toFile(join(options.outputDir, webp));
    return {
      width: posterWidth,
      height,
      jpeg: `${options.prefix}/${jpeg}`,
      webp: `${options.prefix}/${webp}`,
    };
  });
}

/**
 * The best frame among the candidates at `fractions` of the duration. Null when none was usable and
 * `lastChance` is false (more candidates are worth a look), or when no frame could be decoded at all.
 */
async function pickFrame(
  options: PosterOptions,
  fractions: readonly number[],
  size: { width: number; height: number },
  lastChance = false,
): Promise<Frame | null> {
  const { durationSeconds } = options.source;
  const scored = await mapLimit(fractions, PARALLEL, async (fraction, index) => {
    const tag = `${lastChance ? "more" : "candidate"}-${index}`;
    const frame = await extractFrame(options, fraction * durationSeconds, size, tag);
    return frame && { frame, ...(await scoreFrame(frame)) };
  });
  const decoded = scored.filter((candidate) => candidate !== null);
  const usable = decoded.filter((candidate) => candidate.usable);
  // Out of options: the least bad frame (some detail beats none) rather than no poster.
  const pool = usable.length > 0 ? usable : lastChance ? decoded : [];
  const best = pool.reduce<(typeof pool)[number] | null>(
    (top, candidate) => (top === null || candidate.score > top.score ? candidate : top),
    null,
  );
  return best?.frame ?? null;
}

/** One frame at `at` seconds (the first when null), scaled to `size`, as raw RGB; null if there is none. */
async function extractFrame(
  options: PosterOptions,
  at: number | null,
  size: { width: number; height: number },
  tag: string,
): Promise<Frame | null> {
  const file = join(options.workDir, `${tag}.rgb`);
  await runFfmpeg(
    [
      // Before -i: a fast seek to the keyframe before `at`, then decoding only up to `at`.
      ...(at === null ? [] : ["-ss", ffmpegSeconds(at)]),
      ...sourceInputArgs(options.sourcePath, options.demuxer),
      "-map",
      "0:V:0",
      "-an",
      "-sn",
      "-dn",
      "-frames:v",
      "1",
      // FFmpeg's autorotation has turned the picture upright; the display size fixes non-square pixels.
      "-vf",
      `scale=${size.width}:${size.height}:flags=lanczos,setsar=1`,
      "-pix_fmt",
      "rgb24",
      "-f",
      "rawvideo",
      file,
    ],
    {
      what: `extracting a poster frame${at === null ? "" : ` at ${at.toFixed(2)} s`}`,
      signal: options.signal,
      timeoutMs: FRAME_TIMEOUT_MS,
    },
  );
  const bytes = await stat(file).then(
    (info) => info.size,
    () => 0,
  );
  // Nothing (a seek past the real end of the video) or a partial frame.
  return bytes === size.width * size.height * 3 ? { file, ...size } : null;
}

/** Scores a frame from the luminance statistics of a small greyscale copy. */
export async function scoreFrame(frame: Frame): Promise<FrameScore> {
  const grey = await sharp(await readFile(frame.file), {
    raw: { width: frame.width, height: frame.height, channels: 3 },
  })
    .resize({ width: Math.min(frame.width, SCORE_WIDTH) })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const stats = await sharp(grey.data, {
    raw: { width: grey.info.width, height: grey.info.height, channels: grey.info.channels },
  }).stats();
  const luminance = stats.channels[0];
  const mean = luminance?.mean ?? 0;
  const stdev = luminance?.stdev ?? 0;
  const usable = mean >= BLACK_MEAN && mean <= WHITE_MEAN && stdev >= FLAT_STDEV;
  return {
    mean,
    stdev,
    entropy: stats.entropy,
    sharpness: stats.sharpness,
    usable,
    score: stats.entropy + Math.log10(1 + stats.sharpness),
  };
}
