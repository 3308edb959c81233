// What the poster and the storyboard pass are given, and the sizes they derive from the source's
// display size.

export interface DisplaySize {
  /** Display size: rotation and the sample aspect ratio already applied (what ffprobe's facts say). */
  width: number;
  height: number;
}

/** What the poster and the storyboard pass are given. */
export interface ThumbnailPassOptions {
  sourcePath: string;
  /** The demuxer the probe found (source-input.ts). */
  demuxer?: string;
  outputDir: string;
  /** How the returned paths start (`thumbnails`). */
  prefix: string;
  workDir: string;
  source: DisplaySize & { durationSeconds: number };
  signal: AbortSignal;
}

/** Height for `width` keeping the display aspect ratio, at least 1 px. */
export function heightFor(width: number, source: DisplaySize): number {
  return Math.max(1, Math.round((width * source.height) / source.width));
}

/** Same, rounded to an even number (at least 2), as 4:2:0 JPEG tiles like it. */
export function evenHeightFor(width: number, source: DisplaySize): number {
  return Math.max(2, 2 * Math.round((width * source.height) / source.width / 2));
}
