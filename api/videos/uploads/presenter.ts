import type { DirectUploadView } from "./direct-uploads.ts";
import type { UploadModel } from "./model.ts";

export function presentDirectUpload(
  view: DirectUploadView,
  url: string,
): typeof UploadModel.directUpload.static {
  const { upload } = view;
  return {
    id: upload.id,
    url,
    status: view.status,
    video_id: view.videoId,
    title: upload.title,
    description: upload.description,
    category: upload.category,
    max_bytes: upload.maxBytes,
    expires_at: upload.expiresAt.toISOString(),
    created_at: upload.createdAt.toISOString(),
  };
}
