// What a finished transcode is made of: the ladder's renditions, posters and storyboard. The
// transcoder reports it, the api stores it (db/ keeps these shapes in jsonb columns) and serves it.
import { type Static, Type } from "@sinclair/typebox";

/** A rung as one progressive MP4: a stream copy of its segments, with the index (`moov`) first. */
export const ProgressiveMp4 = Type.Object({
  /** Path relative to the published prefix, e.g. `720p/progressive.mp4`. */
  path: Type.String({ minLength: 1 }),
  /** Bytes. */
  size: Type.Integer({ minimum: 1 }),
});
export type ProgressiveMp4 = Static<typeof ProgressiveMp4>;

export const Rendition = Type.Object({
  /** `<height>p`, the shorter side for portrait sources; also the folder name. */
  name: Type.String({ minLength: 1 }),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  /** Peak segment bitrate, bits/s (HLS BANDWIDTH). */
  bandwidth: Type.Integer({ minimum: 0 }),
  averageBandwidth: Type.Integer({ minimum: 0 }),
  codecs: Type.String(),
  frameRate: Type.Number({ minimum: 0 }),
  /** For players without HLS; absent from results stored before MP4s were made (media:backfill-mp4). */
  mp4: Type.Optional(ProgressiveMp4),
});
export type Rendition = Static<typeof Rendition>;

export const PosterImage = Type.Object({
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  /** Paths relative to the published prefix. */
  jpeg: Type.String(),
  webp: Type.String(),
});
export type PosterImage = Static<typeof PosterImage>;

export const Storyboard = Type.Object({
  /** Paths relative to the published prefix. */
  vtt: Type.String(),
  sprites: Type.Array(Type.String()),
});
export type Storyboard = Static<typeof Storyboard>;

export const TranscodeResult = Type.Object({
  durationSeconds: Type.Number({ minimum: 0 }),
  renditions: Type.Array(Rendition),
  /** Path relative to the published prefix. */
  masterPlaylist: Type.String(),
  posters: Type.Array(PosterImage),
  storyboard: Type.Union([Storyboard, Type.Null()]),
});
export type TranscodeResult = Static<typeof TranscodeResult>;

/** Where a revision's HLS tree is published; a new revision never overwrites the one being watched. */
export const outputPrefixFor = (videoId: number, revision: number) => `videos/${videoId}/r${revision}`;

/**
 * Where a revision's fast-start tree is published, segment by segment, while its ladder is made: beside
 * the revision's own prefix, never inside it (the local driver publishes the ladder by renaming the whole
 * revision prefix, which would take the fast-start files away from the viewers playing them).
 */
export const fastStartPrefixFor = (videoId: number, revision: number) =>
  `${outputPrefixFor(videoId, revision)}${FAST_START_SUFFIX}`;
export const FAST_START_SUFFIX = "-fast";
export const isFastStartPrefix = (prefix: string) => prefix.endsWith(FAST_START_SUFFIX);
