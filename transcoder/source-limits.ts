// How much work one upload may ask for. A few kilobytes can declare 40,000 s (two frames 40,000 s apart
// become a million frames once the ladder's constant frame rate fills the gap) or 8K at 240 fps: the
// probe's figures are checked against these caps before anything is decoded or encoded. The duration
// cap alone lets a 3 KB file declare 20,000 s (600,000 frames at the ladder's 30 fps): a floor on the
// bytes per declared second refuses what no real recording can be.
import { InputError } from "./errors.ts";
import type { SourceFacts } from "./probe.ts";

export interface SourceLimits {
  /** Longest declared duration, seconds (MAX_SOURCE_SECONDS). */
  maxSeconds: number;
  /** Most frames the encode would produce: declared duration × frame rate (MAX_SOURCE_FRAMES). */
  maxFrames: number;
  /** Most pixels a second: width × height × frame rate (MAX_SOURCE_PIXEL_RATE). */
  maxPixelRate: number;
  /** Fewest bytes of file per declared second; 0: no floor (MIN_SOURCE_BYTES_PER_SECOND). */
  minBytesPerSecond: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = Object.freeze({
  maxSeconds: 6 * 3600,
  // Six hours at 60 fps.
  maxFrames: 6 * 3600 * 60,
  // 8K at 30 fps, which is also 4K at 120 fps.
  maxPixelRate: 7680 * 4320 * 30,
  // 0.8 kbit/s: under a still picture with 6 kbit/s speech (about 750 B/s), and a slideshow's pictures
  // alone weigh more; a file stretched over hours by its timestamps has a few bytes a second.
  minBytesPerSecond: 100,
});

const count = (value: number) => Math.round(value).toLocaleString("en-US");
const fps = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

/** Throws InputError, in the uploader's words, when the probed source asks for more than the caps. */
export function checkSourceLimits(
  source: Pick<SourceFacts, "durationSeconds" | "width" | "height" | "frameRate"> & {
    /** Size of the source file. */
    bytes: number;
  },
  limits: SourceLimits = DEFAULT_SOURCE_LIMITS,
): void {
  const seconds = source.durationSeconds;
  if (seconds > limits.maxSeconds) {
    throw new InputError(`The video declares ${Math.round(seconds)} s; the limit is ${limits.maxSeconds} s`);
  }
  const frames = seconds * source.frameRate;
  if (frames > limits.maxFrames) {
    throw new InputError(
      `The video declares about ${count(frames)} frames (${count(seconds)} s at ${fps(source.frameRate)} fps); ` +
        `the limit is ${count(limits.maxFrames)} frames`,
    );
  }
  const pixelRate = source.width * source.height * source.frameRate;
  if (pixelRate > limits.maxPixelRate) {
    throw new InputError(
      `The video declares ${source.width}×${source.height} at ${fps(source.frameRate)} fps ` +
        `(${count(pixelRate)} pixels a second); the limit is ${count(limits.maxPixelRate)} pixels a second`,
    );
  }
  const bytesPerSecond = seconds > 0 ? source.bytes / seconds : Number.POSITIVE_INFINITY;
  if (bytesPerSecond < limits.minBytesPerSecond) {
    throw new InputError(
      `The video declares ${count(seconds)} s but the file holds only ${count(source.bytes)} bytes ` +
        `(${bytesPerSecond < 10 ? bytesPerSecond.toFixed(2) : count(bytesPerSecond)} bytes a second); ` +
        `a real recording has at least ${count(limits.minBytesPerSecond)} bytes a second`,
    );
  }
}
