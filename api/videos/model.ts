import { t } from "elysia";
import { IdParams } from "../http/params.ts";
import { RenditionBody } from "../shared/renditions.ts";
import { MAX_LIBRARY_CURSOR_LENGTH } from "./library.ts";

const TranslatedText = t.Object({
  title: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
  description: t.Optional(t.String({ maxLength: 5000 })),
});

/**
 * Stored translations as admins see them. On writes the api checks the languages and fields itself (the
 * 400 names the field at fault, `translations.fr`), so the write schemas below take any object.
 */
const translations = t.Record(t.String(), TranslatedText, {
  description:
    "Title and description in the other supported languages, by language code; a field left out falls back to the default language's (`title`, `description`)",
  examples: [{ de: { title: "Big Buck Bunny", description: "Ein riesiges Kaninchen rächt sich." } }],
});

const translationsPatch = t.Record(t.String(), t.Unknown(), {
  description:
    'A merge patch of `translations`: `{"de": {"title": "…"}}` sets the German title and keeps the German description; `null` for a field removes it (it then falls back to the default language), `{"de": null}` removes German. Languages: SUPPORTED_LANGUAGES but the first (its texts are `title` and `description`); unknown ones get 400 naming `translations.<language>`.',
  examples: [{ de: { title: "Big Buck Bunny", description: null } }],
});

const PassProgress = t.Object({ percent: t.Number(), eta_seconds: t.Nullable(t.Number()) });

export const VideoModel = {
  adminVideo: t.Object(
    {
      id: t.Integer(),
      title: t.String({ description: "In the default language (the first of SUPPORTED_LANGUAGES)" }),
      description: t.String(),
      translations,
      category: t.String(),
      created_at: t.String({ format: "date-time" }),
      revision: t.Integer({ description: "Counts uploads of the video's file" }),
      processing_state: t.Union([
        t.Literal("pending"),
        t.Literal("processing"),
        t.Literal("ready"),
        t.Literal("error"),
      ]),
      processing_error: t.Nullable(t.String()),
      playable: t.Boolean({
        description:
          "Can be watched now: its ladder is published, or (while `processing`) its fast-start rendition",
      }),
      playable_at: t.Nullable(
        t.String({ format: "date-time", description: "When the video first became watchable" }),
      ),
      progress: t.Object({
        percent: t.Number({ description: "0–100 over the whole job" }),
        stage: t.String({ examples: ["queued", "fast-start", "encoding", "done", "failed"] }),
        eta_seconds: t.Nullable(t.Number({ description: "Of the current stage" })),
        passes: t.Optional(
          t.Object(
            { fast_start: t.Optional(PassProgress), ladder: t.Optional(PassProgress) },
            { description: "Jobs with a fast-start pass: each pass's own percent and ETA" },
          ),
        ),
      }),
      duration_seconds: t.Nullable(t.Number()),
      renditions: t.Array(RenditionBody),
      thumbnail_url: t.Nullable(t.String({ format: "uri" })),
      published_revision: t.Nullable(
        t.Integer({
          description:
            "The revision viewers watch now; below `revision` while a replaced file is transcoded (the old one stays playable)",
        }),
      ),
      posters: t.Array(
        t.Object({
          width: t.Integer(),
          height: t.Integer(),
          jpeg_url: t.String({ format: "uri" }),
          webp_url: t.String({ format: "uri" }),
        }),
        { description: "Every poster size of the published revision, smallest first" },
      ),
      storyboard_url: t.Nullable(
        t.String({ format: "uri", description: "The seek-preview storyboard (WebVTT naming sprite sheets)" }),
      ),
    },
    {
      examples: [
        {
          id: 7,
          title: "Big Buck Bunny",
          description: "A giant rabbit takes revenge.",
          translations: { de: { description: "Ein riesiges Kaninchen rächt sich." } },
          category: "Animation",
          created_at: "2026-11-24T08:00:00.000Z",
          revision: 1,
          processing_state: "processing",
          processing_error: null,
          playable: true,
          playable_at: "2026-11-24T08:00:09.000Z",
          progress: {
            percent: 42.5,
            stage: "encoding",
            eta_seconds: 31,
            passes: {
              fast_start: { percent: 100, eta_seconds: 0 },
              ladder: { percent: 34.1, eta_seconds: 31 },
            },
          },
          duration_seconds: null,
          renditions: [],
          thumbnail_url: null,
          published_revision: null,
          posters: [],
          storyboard_url: null,
        },
      ],
    },
  ),
  uploadBody: t.Object({
    file: t.File({ description: "The video (MP4, MOV, MKV, WebM, AVI, MPEG-TS, …), streamed to storage" }),
    title: t.String({ minLength: 1, maxLength: 200 }),
    description: t.Optional(t.String({ maxLength: 5000 })),
    category: t.String({
      minLength: 1,
      maxLength: 100,
      description: "A category name; a new name creates it",
    }),
    translations: t.Optional(
      t.String({
        description:
          'JSON text of `translations`, e.g. `{"de": {"title": "…", "description": "…"}}`; checked as in PATCH',
      }),
    ),
  }),
  replaceBody: t.Object({ file: t.File({ description: "The new video file" }) }),
  patchBody: t.Object(
    {
      title: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
      description: t.Optional(t.String({ maxLength: 5000 })),
      category: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
      translations: t.Optional(translationsPatch),
    },
    { additionalProperties: false },
  ),
  idParams: IdParams,
  listQuery: t.Object({
    q: t.Optional(
      t.String({ maxLength: 200, description: "Contained in the title or the description, any case" }),
    ),
    state: t.Optional(
      t.Union([t.Literal("pending"), t.Literal("processing"), t.Literal("ready"), t.Literal("error")]),
    ),
    category: t.Optional(t.String({ maxLength: 100, description: "A category id, or its name (any case)" })),
    sort: t.Optional(
      t.Union([t.Literal("newest"), t.Literal("oldest"), t.Literal("title")], {
        description: "`newest` (the default), `oldest`, or `title` (A to Z)",
      }),
    ),
    limit: t.Optional(
      t.Integer({
        minimum: 1,
        maximum: 100,
        description: "Answer one page of this many, `{items, next_cursor}`, instead of the whole list",
      }),
    ),
    cursor: t.Optional(
      t.String({
        maxLength: MAX_LIBRARY_CURSOR_LENGTH,
        description: "A page's `next_cursor`, with the same `sort` and `limit`",
      }),
    ),
  }),
  attempt: t.Object(
    {
      revision: t.Integer({ description: "Which upload of the file" }),
      attempt: t.Integer({
        description:
          "The job's run number (1-based): retries, takeovers, hand-backs and admin retries count on",
      }),
      worker: t.String({ description: "TRANSCODER_NAME of the worker that ran it" }),
      started_at: t.String({ format: "date-time" }),
      finished_at: t.Nullable(t.String({ format: "date-time" })),
      duration_seconds: t.Nullable(t.Number({ description: "finished_at − started_at; null while it runs" })),
      outcome: t.Union(
        [
          t.Literal("running"),
          t.Literal("ready"),
          t.Literal("error"),
          t.Literal("failed"),
          t.Literal("interrupted"),
        ],
        {
          description:
            "`failed`: retried by the queue; `error`: the video's last word; `interrupted`: its worker died, lost the job or handed it back at shutdown, and another attempt took over (or its file was replaced while it waited)",
        },
      ),
      error: t.Nullable(t.String()),
    },
    {
      examples: [
        {
          revision: 1,
          attempt: 1,
          worker: "transcoder-2",
          started_at: "2026-12-01T09:00:00.000Z",
          finished_at: "2026-12-01T09:01:12.500Z",
          duration_seconds: 72.5,
          outcome: "ready",
          error: null,
        },
      ],
    },
  ),
} as const;

export const AdminVideoPage = t.Object({
  items: t.Array(VideoModel.adminVideo),
  next_cursor: t.Nullable(t.String({ description: "null on the last page" })),
});

export type VideoAdminModel = typeof VideoModel.adminVideo.static;
