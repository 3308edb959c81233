import { Elysia, t } from "elysia";
import type { authPlugin } from "../../auth/plugin.ts";
import type { Config } from "../../config/load.ts";
import { ApiError, ErrorBody } from "../../http/errors.ts";
import { VideoModel } from "../model.ts";
import { presentAdminVideo } from "../presenter.ts";
import type { VideoAdminService } from "../service.ts";
import type { UploadCompletion } from "./completion.ts";
import type { DirectUploadService } from "./direct-uploads.ts";
import { UploadModel } from "./model.ts";
import { presentDirectUpload } from "./presenter.ts";
import { type ResumableUploads, UPLOADS_PATH, VIDEO_ID_HEADER } from "./tus.ts";

const adminErrors = { 401: ErrorBody, 403: ErrorBody } as const;
const TUS =
  "The tus 1.0 protocol (https://tus.io/protocols/resumable-upload), extensions creation, creation-with-upload, termination, expiration and checksum (sha1, sha256); OPTIONS answers Tus-Version, Tus-Extension and Tus-Max-Size (MAX_UPLOAD_BYTES).";
const tusDetail = (summary: string, description: string) => ({
  summary,
  description: `${description} ${TUS}`,
  tags: ["Uploads (tus)"],
});
const NOT_PARSED = { parse: "none" } as const;

/**
 * Resumable uploads: the tus endpoint (an admin session with CSRF, or a direct-upload URL), the video a
 * finished upload became, and the admin routes that hand out direct-upload URLs.
 */
export function uploadRoutes(deps: {
  services: {
    resumableUploads: ResumableUploads;
    uploadCompletion: UploadCompletion;
    directUploads: DirectUploadService;
    videoAdmin: VideoAdminService;
  };
  auth: ReturnType<typeof authPlugin>;
  config: Pick<Config, "publicUrl" | "supportedLanguages">;
}) {
  const { resumableUploads: tus, uploadCompletion, directUploads, videoAdmin } = deps.services;
  const { publicUrl } = deps.config;
  const tusRequest = ({ request }: { request: Request }) => tus.handle(request);
  const urlOf = (id: string) => `${publicUrl}${UPLOADS_PATH}/direct/${directUploads.tokenOf(id)}/`;

  return new Elysia({ name: "uploads" })
    .use(deps.auth)
    .post(UPLOADS_PATH, tusRequest, {
      ...NOT_PARSED,
      detail: tusDetail(
        "Create a resumable upload (admin session)",
        "Upload-Length and Upload-Metadata (`title`, `category`, optional `description`, `translations` (JSON text, as the multipart upload takes it), `filename`, base64 as tus wants) are checked before any byte is stored: 400 naming the field. 201 with Location; a body (creation-with-upload) is stored at once. The first bytes are sniffed: 415 removes an upload that is no video.",
      ),
    })
    .patch(`${UPLOADS_PATH}/:id`, tusRequest, {
      ...NOT_PARSED,
      detail: tusDetail(
        "Send a chunk",
        `application/offset+octet-stream at Upload-Offset (409 when it is not the stored offset); Upload-Checksum \`sha1|sha256 <base64>\` is checked before the chunk is kept (460 otherwise). The last byte's answer names the video in the ${VIDEO_ID_HEADER} header (pending, transcode enqueued), once, however often it is sent. 404/410 for an expired or removed upload.`,
      ),
    })
    .head(`${UPLOADS_PATH}/:id`, tusRequest, {
      detail: tusDetail(
        "The upload's offset",
        `Upload-Offset and Upload-Length, to resume from (bytes of a PATCH whose connection broke are kept, unless it carried Upload-Checksum). An upload holding every byte whose video was not made (its finishing failed, or its api was killed) is finished by this request, whose answer then names the video in ${VIDEO_ID_HEADER}.`,
      ),
    })
    .delete(`${UPLOADS_PATH}/:id`, tusRequest, {
      detail: tusDetail(
        "Terminate an upload",
        "Removes the upload and its bytes (204); a direct-upload URL whose upload it was may make a new one.",
      ),
    })
    .post(`${UPLOADS_PATH}/direct/:token`, tusRequest, {
      ...NOT_PARSED,
      detail: tusDetail(
        "Create the upload of a direct-upload URL (no session)",
        "Once per URL (409 the second time), before its expiry (410), at most its max_bytes (413). The metadata was fixed when the URL was made; only `filename` is taken from Upload-Metadata.",
      ),
    })
    .patch(`${UPLOADS_PATH}/direct/:token/:id`, tusRequest, {
      ...NOT_PARSED,
      detail: tusDetail("Send a chunk with a direct-upload URL", "As PATCH /api/uploads/{id}."),
    })
    .head(`${UPLOADS_PATH}/direct/:token/:id`, tusRequest, {
      detail: tusDetail("The offset, with a direct-upload URL", "As HEAD /api/uploads/{id}."),
    })
    .delete(`${UPLOADS_PATH}/direct/:token/:id`, tusRequest, {
      detail: tusDetail(
        "Terminate, with a direct-upload URL: refused",
        "403: the URL's holder can create and resume its upload, nothing else (an admin cancels the URL).",
      ),
    })
    .get(
      `${UPLOADS_PATH}/:id/video`,
      async ({ params }) => {
        const { videoId } = await uploadCompletion.videoOf(params.id);
        if (videoId === null) throw new ApiError(409, { detail: "The upload is not complete yet." });
        const row = await videoAdmin.get(videoId);
        return presentAdminVideo(deps.config, row, undefined);
      },
      {
        admin: true,
        params: UploadModel.uploadParams,
        response: { 200: VideoModel.adminVideo, 404: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "The video a finished resumable upload became",
          tags: ["Uploads (tus)"],
          description: "409 while the upload is not complete; 404 for an unknown upload.",
        },
      },
    )
    .post(
      "/api/admin/direct-uploads",
      async ({ body, user, set }) => {
        const { view } = await directUploads.create(body, user.id);
        set.status = 201;
        return presentDirectUpload(view, urlOf(view.upload.id));
      },
      {
        admin: true,
        body: UploadModel.createDirectUpload,
        response: { 201: UploadModel.directUpload, 400: ErrorBody, ...adminErrors },
        detail: {
          summary: "Make a one-time direct-upload URL",
          tags: ["Admin: direct uploads"],
          description:
            "A tus endpoint URL with a signed one-time token: whoever holds it (no session) can make one upload and resume it until `expires_at`, up to `max_bytes`, and nothing else. The video gets this title, description and category.",
        },
      },
    )
    .get(
      "/api/admin/direct-uploads/:id",
      async ({ params }) => presentDirectUpload(await directUploads.get(params.id), urlOf(params.id)),
      {
        admin: true,
        params: UploadModel.directUploadParams,
        response: { 200: UploadModel.directUpload, 404: ErrorBody, ...adminErrors },
        detail: {
          summary: "A direct upload's status",
          tags: ["Admin: direct uploads"],
          description: "waiting | uploading | asset_created (with `video_id`) | expired | cancelled",
        },
      },
    )
    .delete(
      "/api/admin/direct-uploads/:id",
      async ({ params, set }) => {
        await directUploads.cancel(params.id);
        set.status = 204;
      },
      {
        admin: true,
        params: UploadModel.directUploadParams,
        response: { 204: t.Void(), 404: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Cancel a direct-upload URL",
          tags: ["Admin: direct uploads"],
          description:
            "The URL stops working and bytes already sent are removed; 409 once it became a video.",
        },
      },
    );
}
