import { t } from "elysia";
import { IdParams, VideoIdParams } from "../http/params.ts";
import { LangQuery } from "../shared/localisation.ts";
import { PlayableRenditionBody } from "../shared/renditions.ts";

const WatchProgress = t.Nullable(
  t.Object(
    {
      position_seconds: t.Number(),
      duration_seconds: t.Nullable(t.Number()),
      percent: t.Number({ minimum: 0, maximum: 100 }),
      updated_at: t.String({ format: "date-time" }),
    },
    { description: "Where the signed-in user stopped watching; null when never started" },
  ),
);

/** The Videoflix client's video fields; the richer shapes add to them. */
const videoflixFields = {
  id: t.Integer(),
  created_at: t.String({ format: "date-time" }),
  title: t.String(),
  description: t.String(),
  thumbnail_url: t.Nullable(t.String({ format: "uri", description: "Poster about 640 px wide" })),
  category: t.String({ description: "The category's name" }),
};

const videoflixExample = {
  id: 7,
  created_at: "2026-11-24T08:00:00.000Z",
  title: "Big Buck Bunny",
  description: "A giant rabbit takes revenge.",
  thumbnail_url: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
  category: "Animation",
};

const videoExample = {
  ...videoflixExample,
  category_id: 3,
  duration_seconds: 596.5,
  renditions: [
    {
      name: "1080p",
      width: 1920,
      height: 1080,
      bandwidth: 5_800_000,
      mp4_url:
        "https://api.videoflix.example/api/video/7/1080p/progressive.mp4?v=2&token=1764619200.x2SAnYf7wdFcJp1hqm1DSA",
      size: 412_000_000,
    },
    {
      name: "720p",
      width: 1280,
      height: 720,
      bandwidth: 3_200_000,
      mp4_url:
        "https://api.videoflix.example/api/video/7/720p/progressive.mp4?v=2&token=1764619200.x2SAnYf7wdFcJp1hqm1DSA",
      size: 228_000_000,
    },
  ],
  playable: true,
  playable_at: "2026-11-24T08:00:09.000Z",
  complete: true,
  progress: {
    position_seconds: 120,
    duration_seconds: 596.5,
    percent: 20.1,
    updated_at: "2026-11-24T09:00:00.000Z",
  },
  is_favorite: true,
};

const video = t.Object(
  {
    ...videoflixFields,
    category_id: t.Integer(),
    duration_seconds: t.Nullable(t.Number()),
    renditions: t.Array(PlayableRenditionBody),
    playable: t.Boolean({ description: "Always true here: only watchable videos are listed" }),
    playable_at: t.Nullable(t.String({ format: "date-time", description: "When it first became watchable" })),
    complete: t.Boolean({
      description:
        "False while only the fast-start rendition is published (the full ladder is still being made)",
    }),
    progress: WatchProgress,
    is_favorite: t.Boolean(),
  },
  { examples: [videoExample] },
);

const page = t.Object(
  {
    items: t.Array(video),
    next_cursor: t.Nullable(
      t.String({ description: "Pass as `cursor` for the next page; null on the last page" }),
    ),
  },
  { examples: [{ items: [videoExample], next_cursor: "WyIyMDI2LTExLTI0IDA4OjAwOjAwKzAwIiw3XQ" }] },
);

const categoryRow = t.Object(
  {
    category: t.Object({ id: t.Integer(), name: t.String() }),
    videos: t.Array(video),
  },
  { examples: [{ category: { id: 3, name: "Animation" }, videos: [videoExample] }] },
);

export const CatalogueModel = {
  videoflixVideo: t.Object(videoflixFields, { examples: [videoflixExample] }),
  video,
  page,
  categoryRow,
  category: t.Object(
    {
      id: t.Integer(),
      name: t.String(),
      video_count: t.Integer({ description: "Videos of this category that can be watched" }),
    },
    { examples: [{ id: 3, name: "Animation", video_count: 12 }] },
  ),
  listQuery: t.Object({
    category: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 100,
        description: "A category's id or name in any supported language (any case)",
      }),
    ),
    q: t.Optional(
      t.String({
        maxLength: 200,
        description:
          "Case-insensitive search in the titles and descriptions of every supported language; `%` and `_` are literal",
      }),
    ),
    limit: t.Optional(
      t.Integer({ minimum: 1, maximum: 100, default: 20, description: "Page size, or videos per row" }),
    ),
    cursor: t.Optional(t.String({ maxLength: 200, description: "`next_cursor` of the previous page" })),
    grouped: t.Optional(
      t.Literal("category", {
        description: "Rows per category (for a home screen) instead of one page; no `cursor`",
      }),
    ),
    lang: LangQuery,
  }),
  favoritesQuery: t.Object({
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: t.Optional(t.String({ maxLength: 200, description: "`next_cursor` of the previous page" })),
    lang: LangQuery,
  }),
  languageQuery: t.Object({ lang: LangQuery }),
  idParams: IdParams,
  videoIdParams: VideoIdParams,
} as const;

export type CatalogueVideo = typeof CatalogueModel.video.static;
/** A video's user-independent part: what the cache keeps. */
export type CatalogueEntry = Omit<CatalogueVideo, "progress" | "is_favorite">;
export type VideoflixVideo = typeof CatalogueModel.videoflixVideo.static;
