// Posters and the seek-preview storyboard of a video, made from the source beside the HLS ladder.
//
//   <outputDir>/poster-{320,640,1280}.{jpg,webp}   a representative frame (never a black or flat one)
//   <outputDir>/storyboard-N.jpg                    sprite sheets of up to 10×10 tiles, 160 px wide
//   <outputDir>/storyboard.vtt                      WebVTT cues `storyboard-N.jpg#xywh=x,y,w,h`
//
// Returned paths are relative to outputDir's parent (the published prefix): `thumbnails/poster-640.jpg`.
// The two parts run side by side: the poster takes a few fast seeks, the storyboard the one decoding
// pass (keyframes only when they are dense enough), of a small rendition when the caller has one.
// Intermediate frames live in a temporary directory that is always removed; a failure or an abort
// stops every FFmpeg child before the promise settles.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { PosterImage, Storyboard } from "../../contract/media.ts";
import { abortReason } from "./ffmpeg.ts";
import { makePosters } from "./poster.ts";
import { makeStoryboard } from "./storyboard.ts";

export { POSTER_WIDTHS, posterWidths } from "./poster.ts";
export { storyboardInterval, TILE_WIDTH as STORYBOARD_TILE_WIDTH, tileCount } from "./storyboard.ts";

export interface ThumbnailOptions {
  sourcePath: string;
  /** The demuxer the probe found (source-input.ts); without it only the safe ones may be detected. */
  demuxer?: string;
  /** Absolute; created when missing (removed again on failure when it was created here). */
  outputDir: string;
  /** Display size (upright: FFmpeg's autorotation and the sample aspect ratio applied). */
  source: { durationSeconds: number; width: number; height: number };
  /** Aborting stops the FFmpeg children and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A rendition of the same film, already encoded and verified, that the storyboard samples instead of
   * the source: its tiles are 160 px wide, and decoding a small rung costs a tenth of a 1080p source's
   * decode (20.2 s → 1.7 s for a minute of the farm bench's film), which on a long film is the biggest
   * stage after the encode. Its timeline is the one the player shows. Without it, the source.
   */
  storyboardFrom?: { path: string; demuxer: string };
}

export interface Thumbnails {
  posters: PosterImage[];
  /**
   * Null only when FFmpeg could not sample a single frame for it; any video with a decodable picture,
   * however short, gets at least one tile.
   */
  storyboard: Storyboard | null;
}

export async function makeThumbnails(options: ThumbnailOptions): Promise<Thumbnails> {
  const { sourcePath, outputDir, source, signal } = options;
  if (!(source.width > 0 && source.height > 0) || !Number.isFinite(source.durationSeconds)) {
    throw new Error(`thumbnails: bad source facts ${JSON.stringify(source)}`);
  }
  if (signal?.aborted) throw abortReason(signal);

  const created = await mkdir(outputDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), "vf-thumbnails-"));
  // One part failing stops the other: its FFmpeg should not go on decoding for nothing.
  const controller = new AbortController();
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward, { once: true });
  const stopOnFailure = <T>(work: Promise<T>) =>
    work.catch((error: unknown) => {
      controller.abort(error);
      throw error;
    });
  const parts = {
    sourcePath,
    demuxer: options.demuxer,
    outputDir,
    prefix: basename(outputDir),
    workDir,
    source: { ...source, durationSeconds: Math.max(0, source.durationSeconds) },
    signal: controller.signal,
  };
  try {
    // allSettled: nothing is cleaned up while either part may still have a child running.
    const [posters, storyboard] = await Promise.allSettled([
      stopOnFailure(makePosters(parts)),
      stopOnFailure(
        makeStoryboard(
          options.storyboardFrom
            ? { ...parts, sourcePath: options.storyboardFrom.path, demuxer: options.storyboardFrom.demuxer }
            : parts,
        ),
      ),
    ]);
    if (signal?.aborted) throw abortReason(signal);
    if (posters.status === "rejected") throw posters.reason;
    if (storyboard.status === "rejected") throw storyboard.reason;
    return { posters: posters.value, storyboard: storyboard.value };
  } catch (error) {
    if (created !== undefined) await rm(outputDir, { recursive: true, force: true });
    throw error;
  } finally {
    signal?.removeEventListener("abort", forward);
    await rm(workDir, { recursive: true, force: true });
  }
}
