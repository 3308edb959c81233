// The media every dialect hands to its player: progressive MP4s (none of the three frontends plays
// HLS), as signed absolute URLs, since a <video> element sends no Authorization header.
import type { CatalogueEntry } from "../catalogue/model.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { nominalHeight } from "../shared/renditions.ts";

/** One rung's progressive MP4. */
export interface Mp4Source {
  height: number;
  /** Absolute, signed URL (a token in the query). */
  url: string;
}

/**
 * The video's progressive MP4s, tallest first: the one place every dialect's mapper learns them from.
 * The catalogue entry already carries each rung's signed MP4 (`renditions[].mp4_url`, signed for
 * MEDIA_MP4_TOKEN_TTL); a video transcoded before MP4s were made has none until
 * `bun run media:backfill-mp4`, and the mappers then answer null / [] for the media fields.
 */
export function mp4UrlsOf(video: Pick<CatalogueEntry, "renditions">): Mp4Source[] {
  return video.renditions
    .flatMap((rendition) =>
      rendition.mp4_url ? [{ height: nominalHeight(rendition), url: rendition.mp4_url }] : [],
    )
    .sort((a, b) => b.height - a.height);
}

/** The rung a player starts with: `preferredHeight` when there is one, else the tallest. */
export function preferredMp4(sources: readonly Mp4Source[], preferredHeight: number): Mp4Source | null {
  return sources.find((source) => source.height === preferredHeight) ?? sources[0] ?? null;
}

/**
 * The rung answering a request for `height`: the tallest one not above it, else (every rung is taller,
 * e.g. 120p asked of a ladder that starts at 240p) the lowest. Null when the video has no MP4.
 */
export function nearestLowerMp4(sources: readonly Mp4Source[], height: number): Mp4Source | null {
  const lower = sources.filter((source) => source.height <= height);
  const pick = (candidates: readonly Mp4Source[], taller: (a: number, b: number) => boolean) =>
    candidates.reduce<Mp4Source | null>(
      (best, source) => (best === null || taller(source.height, best.height) ? source : best),
      null,
    );
  return lower.length > 0 ? pick(lower, (a, b) => a > b) : pick(sources, (a, b) => a < b);
}

/**
 * The catalogue as every dialect lists it: only videos whose ladder is published. A video that is only
 * playable through its fast-start rendition (an HLS rung without an MP4) would be an entry none of
 * these frontends can play for the whole ladder run; the Videoflix list (`GET /api/video/`) plays HLS
 * and keeps it. A ladder made before MP4s existed stays listed (its media fields are null until
 * `bun run media:backfill-mp4`), as before.
 */
export function dialectCatalogue(catalogue: CatalogueService): CatalogueService {
  const view = Object.create(catalogue) as CatalogueService;
  view.all = async (languages) => (await catalogue.all(languages)).filter((entry) => entry.complete);
  return view;
}
