import type { TranscodeProgress } from "../../contract/progress.ts";
import type { TranscodeAttempt } from "../../db/schema/index.ts";
import type { SupportedLanguages } from "../shared/localisation.ts";
import { posterLinks, storyboardUrl, thumbnailUrl } from "../shared/media-urls.ts";
import { presentRenditions } from "../shared/renditions.ts";
import { presentTranslations } from "../shared/translations.ts";
import { isPlayable } from "./fast-start-trees.ts";
import { progressOf } from "./lifecycle.ts";
import type { VideoAdminModel, VideoModel } from "./model.ts";
import type { VideoWithCategory } from "./service.ts";

/** The admin's view of a video, with its transcoding state and progress. */
export function presentAdminVideo(
  config: { publicUrl: string; supportedLanguages: SupportedLanguages },
  row: VideoWithCategory,
  tick?: TranscodeProgress,
): VideoAdminModel {
  const { video } = row;
  return {
    id: video.id,
    title: video.title,
    description: video.description,
    translations: presentTranslations(video.translations, config.supportedLanguages),
    category: row.category,
    created_at: video.createdAt.toISOString(),
    revision: video.revision,
    processing_state: video.processingState,
    processing_error: video.processingError,
    playable: isPlayable(video),
    playable_at: video.playableAt?.toISOString() ?? null,
    progress: progressOf(video, tick),
    duration_seconds: video.durationSeconds,
    renditions: presentRenditions(video.renditions),
    thumbnail_url: thumbnailUrl(config.publicUrl, video),
    published_revision: video.publishedRevision,
    posters: posterLinks(config.publicUrl, video),
    storyboard_url: storyboardUrl(config.publicUrl, video),
  };
}

/** One attempt of the video's job history. */
export function presentAttempt(attempt: TranscodeAttempt): typeof VideoModel.attempt.static {
  const finished = attempt.finishedAt;
  return {
    revision: attempt.revision,
    attempt: attempt.attempt,
    worker: attempt.worker,
    started_at: attempt.startedAt.toISOString(),
    finished_at: finished?.toISOString() ?? null,
    duration_seconds: finished ? Math.max(0, finished.getTime() - attempt.startedAt.getTime()) / 1000 : null,
    outcome: attempt.outcome ?? "running",
    error: attempt.error,
  };
}
