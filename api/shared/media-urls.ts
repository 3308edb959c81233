// Where a client finds a video's media: the one place that spells the playback URLs the api serves
// (api/playback/ answers them), used by every presenter that hands out a link.
import type { PosterImage, Storyboard } from "../../contract/media.ts";

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

/** Every poster of the published revision, smallest first, as absolute JPEG and WebP links. */
export function posterLinks(
  publicUrl: string,
  video: { id: number; posters: PosterImage[]; publishedRevision: number | null },
): Array<{ width: number; height: number; jpeg_url: string; webp_url: string }> {
  if (video.publishedRevision === null) return [];
  return [...video.posters]
    .sort((a, b) => a.width - b.width)
    .map((poster) => ({
      width: poster.width,
      height: poster.height,
      jpeg_url: mediaUrl(publicUrl, video.id, poster.jpeg),
      webp_url: mediaUrl(publicUrl, video.id, poster.webp),
    }));
}

/** The seek-preview storyboard's WebVTT (its cues name the sprite sheets), or null when there is none. */
export function storyboardUrl(
  publicUrl: string,
  video: { id: number; storyboard: Storyboard | null; publishedRevision: number | null },
): string | null {
  if (video.publishedRevision === null || !video.storyboard) return null;
  return mediaUrl(publicUrl, video.id, video.storyboard.vtt);
}
