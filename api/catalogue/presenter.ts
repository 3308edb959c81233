import { isFastStartPrefix, type PosterImage, type Rendition } from "../../contract/media.ts";
import type { CategoryTranslations, VideoTranslations } from "../../db/schema/index.ts";
import { type LanguagePreference, localise } from "../shared/localisation.ts";
import { thumbnailUrl } from "../shared/media-urls.ts";
import { type Mp4Signer, mp4UrlsOf } from "../shared/progressive-mp4.ts";
import { presentPlayableRenditions } from "../shared/renditions.ts";
import type { CatalogueEntry, CatalogueVideo, VideoflixVideo } from "./model.ts";

/** The columns the catalogue reads of a listed video. */
export interface ListedRow {
  id: number;
  title: string;
  description: string;
  translations: VideoTranslations;
  createdAt: Date;
  categoryId: number;
  category: string;
  categoryTranslations: CategoryTranslations;
  durationSeconds: number | null;
  renditions: Rendition[];
  posters: PosterImage[];
  publishedRevision: number | null;
  playableAt: Date | null;
  publishedPrefix: string | null;
}

/** A listed video with its texts (title, description, category name) in the reader's languages. */
export function presentEntry(
  publicUrl: string,
  mp4Signer: Mp4Signer,
  row: ListedRow,
  languages: LanguagePreference,
): CatalogueEntry {
  const { title, description } = localise(row, languages);
  const category = localise({ name: row.category, translations: row.categoryTranslations }, languages);
  return {
    id: row.id,
    created_at: row.createdAt.toISOString(),
    title,
    description,
    thumbnail_url: thumbnailUrl(publicUrl, row),
    category: category.name,
    category_id: row.categoryId,
    duration_seconds: row.durationSeconds,
    renditions: presentPlayableRenditions(row.renditions, mp4UrlsOf(row, mp4Signer)),
    // Listed means watchable; `complete` says whether every rung is there or only the fast-start one.
    playable: row.publishedRevision !== null,
    playable_at: row.playableAt?.toISOString() ?? null,
    complete: row.publishedPrefix !== null && !isFastStartPrefix(row.publishedPrefix),
  };
}

const collators = new Map<string, Intl.Collator>();

/** Orders categories by name as the reader's language sorts (ties by id, so the order is stable). */
export function alphabetically(languages: LanguagePreference) {
  const language = languages[0];
  let collator = collators.get(language);
  if (!collator) {
    collator = new Intl.Collator(language, { sensitivity: "base" });
    collators.set(language, collator);
  }
  return (a: { id: number; name: string }, b: { id: number; name: string }) =>
    collator!.compare(a.name, b.name) || a.id - b.id;
}

/** Exactly the fields the Videoflix client knows. */
export function presentVideoflix(entry: CatalogueEntry): VideoflixVideo {
  const { id, created_at, title, description, thumbnail_url, category } = entry;
  return { id, created_at, title, description, thumbnail_url, category };
}

export function withViewer(
  entry: CatalogueEntry,
  isFavorite: boolean,
  progress: { positionSeconds: number; updatedAt: Date } | undefined,
): CatalogueVideo {
  const duration = entry.duration_seconds;
  return {
    ...entry,
    progress: progress
      ? {
          position_seconds: progress.positionSeconds,
          duration_seconds: duration,
          percent:
            duration && duration > 0
              ? Math.min(100, Math.max(0, Math.round((progress.positionSeconds / duration) * 1000) / 10))
              : 0,
          updated_at: progress.updatedAt.toISOString(),
        }
      : null,
    is_favorite: isFavorite,
  };
}
