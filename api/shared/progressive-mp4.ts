// Where a client finds a video's progressive MP4s (one per rung, for players without HLS): signed
// absolute URLs, since a <video src> sends no credentials. Used by the catalogue and the client dialects.
import type { Rendition } from "../../contract/media.ts";
import { mediaUrl } from "./media-urls.ts";
import { nominalHeight } from "./renditions.ts";

/** Signs MP4 URLs with the segments' media-token scheme, for MEDIA_MP4_TOKEN_TTL (a film, paused). */
export interface Mp4Signer {
  /** The api's PUBLIC_URL, without a trailing slash. */
  readonly publicUrl: string;
  /** A `?token=` for the video (api/playback/tokens.ts): the api and the edge both check it. */
  token(videoId: number): string;
}

/** One rung's MP4 as a client gets it. */
export interface Mp4Link {
  /** The rung, e.g. `720p`. */
  name: string;
  /** Its nominal height (`720p` → 720, also for a portrait rung). */
  height: number;
  width: number;
  /** Signed absolute URL; the edge (or the api) serves it with byte ranges. */
  url: string;
  /** Bytes. */
  size: number;
}

/** What is needed of a video: its id, the published revision and that revision's renditions. */
export interface VideoRenditions {
  id: number;
  publishedRevision: number | null;
  renditions: readonly Rendition[];
}

/**
 * The video's MP4s, lowest rung first; empty for an unpublished video or one transcoded before MP4s
 * were made (until `bun run media:backfill-mp4`). `download` adds `download=1`: the answer then carries
 * `Content-Disposition: attachment`.
 */
export function mp4UrlsOf(
  video: VideoRenditions,
  signer: Mp4Signer,
  options: { download?: boolean } = {},
): Mp4Link[] {
  const withMp4 = video.renditions.filter((rendition) => rendition.mp4 !== undefined);
  if (video.publishedRevision === null || withMp4.length === 0) return [];
  const query = `v=${video.publishedRevision}&token=${signer.token(video.id)}${options.download ? "&download=1" : ""}`;
  return withMp4
    .map((rendition) => ({
      name: rendition.name,
      height: nominalHeight(rendition),
      width: rendition.width,
      url: `${mediaUrl(signer.publicUrl, video.id, rendition.mp4!.path)}?${query}`,
      size: rendition.mp4!.size,
    }))
    .sort((a, b) => a.height - b.height);
}

/**
 * The rung for a quality asked by height: that one, else the nearest lower one, else the lowest (a
 * client asking for 120p gets the smallest rung there is). Null only when there are none.
 */
export function nearestRung<T extends { height: number }>(rungs: readonly T[], height: number): T | null {
  const ascending = [...rungs].sort((a, b) => a.height - b.height);
  let best: T | null = null;
  for (const rung of ascending) if (rung.height <= height) best = rung;
  return best ?? ascending[0] ?? null;
}
