import { isFastStartPrefix, type PosterImage, type Rendition } from "../../contract/media.ts";
import { thumbnailUrl } from "../shared/media-urls.ts";
import { presentRenditions } from "../shared/renditions.ts";
import type { CatalogueEntry, CatalogueVideo, VideoflixVideo } from "./model.ts";

/** The columns the catalogue reads of a listed video. */
export interface ListedRow {
  id: number;
  title: string;
  description: string;
  createdAt: Date;
  categoryId: number;
  category: string;
  durationSeconds: number | null;
  renditions: Rendition[];
  posters: PosterImage[];
  publishedRevision: number | null;
  playableAt: Date | null;
  publishedPrefix: string | null;
}

export function presentEntry(publicUrl: string, row: ListedRow): CatalogueEntry {
  return {
    id: row.id,
    created_at: row.createdAt.toISOString(),
    title: row.title,
    description: row.description,
    thumbnail_url: thumbnailUrl(publicUrl, row),
    category: row.category,
    category_id: row.categoryId,
    duration_seconds: row.durationSeconds,
    renditions: presentRenditions(row.renditions),
    // Listed means watchable; `complete` says whether every rung is there or only the fast-start one.
    playable: row.publishedRevision !== null,
    playable_at: row.playableAt?.toISOString() ?? null,
    complete: row.publishedPrefix !== null && !isFastStartPrefix(row.publishedPrefix),
  };
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
