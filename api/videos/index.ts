import { Elysia, t } from "elysia";
import type { MediaStorage } from "../../storage/index.ts";
import type { authPlugin } from "../auth/plugin.ts";
import type { Config } from "../config/load.ts";
import { refuseUnknownFields } from "../http/editable-fields.ts";
import { badRequest, ErrorBody } from "../http/errors.ts";
import { refuseTranslationsNotAnObject } from "../shared/translations.ts";
import type { TranscodeAttempts } from "./attempts.ts";
import { AdminVideoPage, VideoModel } from "./model.ts";
import { presentAdminVideo, presentAttempt } from "./presenter.ts";
import { VIDEO_TRANSLATED_FIELDS, type VideoAdminService } from "./service.ts";
import { receiveUpload } from "./upload.ts";

const adminErrors = { 401: ErrorBody, 403: ErrorBody } as const;

const PATCHABLE = new Set(Object.keys(VideoModel.patchBody.properties));

/** Admin endpoints for videos: `{ admin: true }` on every route (401 signed out, 403 non-admin). */
export function videoAdminRoutes(deps: {
  services: { videoAdmin: VideoAdminService; storage: MediaStorage; attempts: TranscodeAttempts };
  auth: ReturnType<typeof authPlugin>;
  config: Pick<Config, "publicUrl" | "maxUploadBytes" | "supportedLanguages">;
}) {
  const { videoAdmin: service, storage, attempts } = deps.services;
  const { maxUploadBytes } = deps.config;
  // Only a video being transcoded has progress ticks in Redis (as in the listing): the others are
  // answered from PostgreSQL alone, while Redis is away too.
  const present = async (row: Awaited<ReturnType<typeof service.get>>) => {
    const transcoding = row.video.processingState === "processing";
    const progress = transcoding ? await service.progressOf([row.video.id]) : null;
    return presentAdminVideo(deps.config, row, progress?.get(row.video.id));
  };

  return new Elysia({ name: "video-admin", detail: { tags: ["Admin: videos"] } })
    .use(deps.auth)
    .post(
      "/api/admin/videos",
      async ({ request, user, set }) => {
        const upload = await receiveUpload(request, storage, { maxBytes: maxUploadBytes });
        try {
          const created = await service.create(upload, user.id);
          set.status = 202;
          return present(created);
        } catch (error) {
          if (upload.file) await storage.deletePrefix(upload.file.key);
          throw error;
        }
      },
      {
        admin: true,
        parse: "none",
        response: {
          202: VideoModel.adminVideo,
          400: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          507: ErrorBody,
          ...adminErrors,
        },
        detail: {
          summary: "Upload a video",
          description:
            "multipart/form-data with `file`, `title`, `description`, `category` and optionally `translations` (JSON text, as in PATCH). Streamed to storage (never buffered whole); 413 past MAX_UPLOAD_BYTES; 415 for an empty or non-media file; 507 when the media storage is full. Answers 202 with the video in state `pending`; transcoding progress follows on the WebSocket and in `progress`.",
          requestBody: {
            required: true,
            content: { "multipart/form-data": { schema: VideoModel.uploadBody } },
          } as never,
        },
      },
    )
    .get(
      "/api/admin/videos",
      async ({ query }) => {
        const { limit, cursor, ...filter } = query;
        if (limit === undefined && cursor !== undefined) {
          throw badRequest({ cursor: ["A cursor goes with the `limit` of the page it came from."] });
        }
        const page = limit === undefined ? null : await service.page(filter, limit, cursor);
        const rows = page ? page.rows : await service.list(filter);
        const progress = await service.progressOf(
          rows.filter((row) => row.video.processingState === "processing").map((row) => row.video.id),
        );
        const items = rows.map((row) => presentAdminVideo(deps.config, row, progress.get(row.video.id)));
        return page ? { items, next_cursor: page.nextCursor } : items;
      },
      {
        admin: true,
        query: VideoModel.listQuery,
        response: {
          200: t.Union([t.Array(VideoModel.adminVideo), AdminVideoPage]),
          400: ErrorBody,
          ...adminErrors,
        },
        detail: {
          summary: "The library: videos with their transcoding state, filtered, sorted, paginated",
          description:
            "Without `limit`: every video that matches, as an array (newest first unless `sort` says otherwise). With `limit`: one keyset page, `{items, next_cursor}`; pass `next_cursor` back as `cursor` (with the same filters and `sort`) for the next one, until it is null. `q` searches title and description (any case), `state` and `category` (id or name) filter. 400 names the parameter at fault (a cursor made for another `sort` included).",
        },
      },
    )
    .get("/api/admin/videos/:id", async ({ params }) => present(await service.get(params.id)), {
      admin: true,
      params: VideoModel.idParams,
      response: { 200: VideoModel.adminVideo, 404: ErrorBody, ...adminErrors },
      detail: { summary: "One video with its transcoding state and progress" },
    })
    .patch(
      "/api/admin/videos/:id",
      async ({ params, body }) => present(await service.update(params.id, body)),
      {
        admin: true,
        params: VideoModel.idParams,
        transform: ({ body }) => {
          refuseUnknownFields(body, PATCHABLE);
          refuseTranslationsNotAnObject(body, VIDEO_TRANSLATED_FIELDS);
        },
        body: VideoModel.patchBody,
        // Names the body's schema (with `translations`) in the OpenAPI document.
        parse: "json",
        response: { 200: VideoModel.adminVideo, 400: ErrorBody, 404: ErrorBody, ...adminErrors },
        detail: {
          summary: "Edit title, description, translations or category",
          description:
            "Only the fields sent change. `translations` is a merge patch: the languages and fields sent change, `null` removes one. 400 names the field at fault (`translations.fr`, `translations.de.title`).",
        },
      },
    )
    .put(
      "/api/admin/videos/:id/file",
      async ({ params, request, set }) => {
        const upload = await receiveUpload(request, storage, { maxBytes: maxUploadBytes });
        const replaced = await service.replaceFile(params.id, upload);
        set.status = 202;
        return present(replaced);
      },
      {
        admin: true,
        parse: "none",
        params: VideoModel.idParams,
        response: {
          202: VideoModel.adminVideo,
          400: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          507: ErrorBody,
          ...adminErrors,
        },
        detail: {
          summary: "Replace the video's file",
          description:
            "Starts a new revision. The current renditions stay playable until the new ones are published, then they are removed.",
          requestBody: {
            required: true,
            content: { "multipart/form-data": { schema: VideoModel.replaceBody } },
          } as never,
        },
      },
    )
    .delete(
      "/api/admin/videos/:id",
      async ({ params, set }) => {
        await service.delete(params.id);
        set.status = 204;
      },
      {
        admin: true,
        params: VideoModel.idParams,
        response: { 204: t.Void(), 404: ErrorBody, ...adminErrors },
        detail: { summary: "Delete a video with its source, renditions and thumbnails" },
      },
    )
    .post(
      "/api/admin/videos/:id/retry",
      async ({ params, set, user }) => {
        const retried = await service.retry(user, params.id);
        set.status = 202;
        return present(retried);
      },
      {
        admin: true,
        params: VideoModel.idParams,
        response: { 202: VideoModel.adminVideo, 404: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Transcode a video in state `error` again",
          description:
            "Back to `pending` with a fresh set of attempts (the failed job is retried, or enqueued again if the queue trimmed it). 409 for a video in any other state. Writes an audit log line.",
        },
      },
    )
    .get(
      "/api/admin/videos/:id/attempts",
      async ({ params }) => {
        await service.get(params.id); // 404 for an unknown video
        return (await attempts.history(params.id)).map(presentAttempt);
      },
      {
        admin: true,
        params: VideoModel.idParams,
        response: { 200: t.Array(VideoModel.attempt), 404: ErrorBody, ...adminErrors },
        detail: {
          summary: "The video's job history",
          description:
            "Every transcoding attempt of every revision, the latest first: worker, start, finish, duration, outcome and error, as the transcoders reported them (times by their clocks). Kept in PostgreSQL: BullMQ keeps only a job's latest attempt and trims finished jobs.",
        },
      },
    );
}
