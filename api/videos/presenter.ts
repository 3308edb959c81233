import type { Video } from "../../db/schema/index.ts";
import type { TranscodeProgress } from "../../transcoder/contract.ts";
import type { VideoWithCategory } from "./service.ts";

/** Absolute URL of a file inside a video's published tree (thumbnails, storyboard). */
export const mediaUrl = (publicUrl: string, videoId: number, path: string) =>
  `${publicUrl}/api/video/${videoId}/${path}`;

/** The poster closest to 640 px wide: what a catalogue tile shows. */
export function thumbnailUrl(
  publicUrl: string,
  row: { video: Pick<Video, "id" | "posters" | "publishedRevision"> },
): string | null {
  const posters = row.video.posters;
  if (posters.length === 0 || row.video.publishedRevision === null) return null;
  const best = [...posters].sort((a, b) => Math.abs(a.width - 640) - Math.abs(b.width - 640))[0]!;
  return mediaUrl(publicUrl, row.video.id, best.jpeg);
}

function progressOf(row: VideoWithCategory, tick: TranscodeProgress | undefined) {
  switch (row.video.processingState) {
    case "ready":
      return { percent: 100, stage: "done", eta_seconds: 0 };
    case "error":
      return { percent: 0, stage: "failed", eta_seconds: null };
    case "pending":
      return { percent: 0, stage: "queued", eta_seconds: null };
    default:
      return tick && tick.revision === row.video.revision
        ? { percent: Math.round(tick.percent * 10) / 10, stage: tick.stage, eta_seconds: tick.etaSeconds }
        : { percent: 0, stage: "processing", eta_seconds: null };
  }
}

/** The admin's view of a video, with its transcoding state and progress. */
export function presentAdminVideo(publicUrl: string, row: VideoWithCategory, tick?: TranscodeProgress) {
  const { video } = row;
  return {
    id: video.id,
    title: video.title,
    description: video.description,
    category: row.category,
    created_at: video.createdAt.toISOString(),
    revision: video.revision,
    processing_state: video.processingState,
    processing_error: video.processingError,
    progress: progressOf(row, tick),
    duration_seconds: video.durationSeconds,
    renditions: video.renditions.map(({ name, width, height, bandwidth }) => ({
      name,
      width,
      height,
      bandwidth,
    })),
    thumbnail_url: thumbnailUrl(publicUrl, row),
  };
}
