// Where a client finds a video's media: the one place that spells the playback URLs the api serves
// (api/playback/ answers them), used by every presenter that hands out a link.
import type { PosterImage } from "../../contract/media.ts";

/** Absolute URL of a file inside a video's published tree (thumbnails, storyboard, playlists). */
export const mediaUrl = (publicUrl: string, videoId: number, path: string) =>
  `${publicUrl}/api/video/${videoId}/${path}`;

/** The master playlist a player opens. */
export const masterPlaylistUrl = (publicUrl: string, videoId: number) =>
  mediaUrl(publicUrl, videoId, "master.m3u8");

/** The poster closest to 640 px wide (what a catalogue tile shows), or null for an unpublished video. */
export function thumbnailUrl(
  publicUrl: string,
  video: { id: number; posters: PosterImage[]; publishedRevision: number | null },
): string | null {
  const posters = video.posters;
  if (posters.length === 0 || video.publishedRevision === null) return null;
  const best = [...posters].sort((a, b) => Math.abs(a.width - 640) - Math.abs(b.width - 640))[0]!;
  return mediaUrl(publicUrl, video.id, best.jpeg);
}
