// Which renditions a source gets: the configured rungs it can fill without upscaling, each with a
// bitrate from bits per pixel, never above what the source itself spends.
import type { SourceFacts } from "./probe.ts";

export interface Rung {
  /** `<short side>p`: also the rendition's folder. */
  name: string;
  width: number;
  height: number;
  /** Output frame rate (constant). */
  frameRate: number;
  /** Bits/s: target, peak and VBV buffer. */
  videoBitrate: number;
  maxrate: number;
  bufsize: number;
  audioBitrate: number;
}

export interface LadderOptions {
  /** Short sides of the rungs (height for landscape, width for portrait). */
  heights?: readonly number[];
  /** Bits per pixel at 30 fps. */
  bitsPerPixel?: number;
  /** The source-bitrate cap never takes a rung below this share of its own target. */
  floorRatio?: number;
  audioBitrate?: number;
  lowestAudioBitrate?: number;
  maxFrameRate?: number;
}

export const DEFAULT_LADDER_HEIGHTS: readonly number[] = [360, 480, 720, 1080];
export const AUDIO_SAMPLE_RATE = 48_000;
export const AUDIO_CHANNELS = 2;
const DEFAULTS = {
  bitsPerPixel: 0.1,
  floorRatio: 0.25,
  audioBitrate: 128_000,
  lowestAudioBitrate: 96_000,
  maxFrameRate: 60,
};
/** A source this much larger than the largest rung it fills, but short of the next, also gets its own size. */
const OWN_SIZE_STEP = 1.25;

export type LadderSource = Pick<
  SourceFacts,
  "width" | "height" | "frameRate" | "variableFrameRate" | "videoBitrate"
>;

export function chooseLadder(source: LadderSource, options: LadderOptions = {}): Rung[] {
  const heights = [...new Set(options.heights ?? DEFAULT_LADDER_HEIGHTS)].sort((a, b) => a - b);
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  const shortSide = Math.min(source.width, source.height);
  const longSide = Math.max(source.width, source.height);
  const portrait = source.height > source.width;
  const frameRate = outputFrameRate(source, settings.maxFrameRate);

  const shortSides = heights.filter((height) => height <= shortSide);
  const largest = shortSides.at(-1);
  const nextUp = heights.find((height) => height > shortSide);
  const ownShort = floorEven(shortSide);
  if (largest === undefined || (nextUp !== undefined && ownShort >= largest * OWN_SIZE_STEP)) {
    shortSides.push(ownShort);
  }

  return shortSides.map((short, index) => {
    // The source's own size keeps its exact (even) long side; scaled rungs keep the aspect ratio.
    const long = short === ownShort ? floorEven(longSide) : roundEven((short * longSide) / shortSide);
    const width = portrait ? short : long;
    const height = portrait ? long : short;
    const videoBitrate = rungBitrate(width, height, frameRate, source.videoBitrate, settings);
    return {
      name: `${short}p`,
      width,
      height,
      frameRate,
      videoBitrate,
      maxrate: Math.round(videoBitrate * 1.5),
      bufsize: videoBitrate * 2,
      audioBitrate: index === 0 ? settings.lowestAudioBitrate : settings.audioBitrate,
    };
  });
}

/**
 * The constant rate the renditions get. Variable-rate sources (phones, screen recorders) are made
 * constant so that every rung has the same frames and keyframes land on segment boundaries; rates
 * above the cap are divided down (120 → 60, 100 → 50) so motion stays even.
 */
export function outputFrameRate(
  source: Pick<SourceFacts, "frameRate" | "variableFrameRate">,
  maxFrameRate = 60,
): number {
  if (source.variableFrameRate) return source.frameRate > 30 * 1.02 ? Math.min(60, maxFrameRate) : 30;
  let divisor = 1;
  while (source.frameRate / divisor > maxFrameRate * 1.001) divisor += 1;
  return source.frameRate / divisor;
}

/** Bits/s for a picture size at a frame rate: doubling the rate costs less than double the bits. */
export function targetBitrate(
  width: number,
  height: number,
  frameRate: number,
  bitsPerPixel = DEFAULTS.bitsPerPixel,
) {
  const effectiveRate = 30 * (frameRate / 30) ** 0.75;
  return Math.round((bitsPerPixel * width * height * effectiveRate) / 1000) * 1000;
}

function rungBitrate(
  width: number,
  height: number,
  frameRate: number,
  sourceBitrate: number | null,
  settings: { bitsPerPixel: number; floorRatio: number },
): number {
  const target = targetBitrate(width, height, frameRate, settings.bitsPerPixel);
  if (sourceBitrate === null) return target;
  // Spending more than the source did buys nothing; but a re-encode starved far below its target
  // turns to blocks, and a container's bitrate can be wrong: hence the floor.
  const floor = Math.round((target * settings.floorRatio) / 1000) * 1000;
  return Math.min(target, Math.max(Math.round(sourceBitrate / 1000) * 1000, floor));
}

const roundEven = (value: number) => Math.max(2, Math.round(value / 2) * 2);
const floorEven = (value: number) => Math.max(2, Math.floor(value / 2) * 2);

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
