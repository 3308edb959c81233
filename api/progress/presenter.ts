import { type LanguagePreference, localise } from "../shared/localisation.ts";
import { thumbnailUrl } from "../shared/media-urls.ts";
import type { ContinueWatchingItem } from "./model.ts";
import type { ContinueWatchingEntry } from "./service.ts";

export function presentContinueWatching(
  publicUrl: string,
  entry: ContinueWatchingEntry,
  languages: LanguagePreference,
): ContinueWatchingItem {
  const { video, durationSeconds, positionSeconds, sentAtMs } = entry;
  return {
    id: video.id,
    title: localise(video, languages).title,
    thumbnail_url: thumbnailUrl(publicUrl, video),
    duration_seconds: durationSeconds,
    position_seconds: positionSeconds,
    percent: Math.round((positionSeconds / durationSeconds) * 1000) / 10,
    updated_at: new Date(sentAtMs).toISOString(),
  };
}
