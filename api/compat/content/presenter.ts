import type { CatalogueEntry } from "../../catalogue/model.ts";
import { ApiError } from "../../http/errors.ts";
import type { AccountLinks } from "../../shared/account-links.ts";
import { mp4UrlsOf } from "../media.ts";
import type { ContentVideo } from "./model.ts";

/** Where the dialect is mounted: the frontend's base URL is `<backend>/compat/content`. */
export const CONTENT_PREFIX = "/compat/content";

/**
 * The links of the content dialect's mails. Activation points at this backend's `users/confirm/`
 * (the original's RegisterView), which answers 302 to the frontend's /login; the reset link opens the
 * frontend's `/reset-password?uid=&token=`, whose form posts both to `users/reset-password/`. `uid` and
 * `token` are opaque to the frontend: ours (uidb64 and a one-time token) travel in its parameters.
 */
export function contentLinks(publicUrl: string, frontendUrl: string): AccountLinks {
  return (link) => {
    switch (link.kind) {
      case "activation":
        return `${publicUrl}${CONTENT_PREFIX}/users/confirm/?${new URLSearchParams({ uid: link.uid, token: link.token })}`;
      case "password-reset":
        return `${frontendUrl}/reset-password?${new URLSearchParams({ uid: link.uid, token: link.token })}`;
      case "login":
        return `${frontendUrl}/login`;
      case "forgot-password":
        return `${frontendUrl}/forgot-password`;
    }
  };
}

/**
 * A catalogue entry in the shape of the original's VideoSerializer (`fields="__all__"` plus
 * `image_url`). Only published videos are listed, so every one is `ready` without an error; the media
 * fields are signed absolute MP4 URLs (the frontend plays what `video-url/` answers, not these).
 */
export function presentContentVideo(entry: CatalogueEntry): ContentVideo {
  const sources = mp4UrlsOf(entry);
  return {
    id: entry.id,
    title: entry.title,
    description: entry.description,
    category: entry.category,
    image_file: entry.thumbnail_url,
    image_url: entry.thumbnail_url,
    video_file: sources[0]?.url ?? null,
    converted_files: Object.fromEntries(sources.map((source) => [`${source.height}p`, source.url])),
    processing_state: "ready",
    processing_error: null,
    created_at: entry.created_at,
  };
}

/** The original's answer to a wrong password and to an inactive account alike. */
export const invalidCredentials = () =>
  new ApiError(400, { non_field_errors: ["Invalid credentials or inactive user."] });

/**
 * A service's 400 in the original's `{error}` shape (what its account views answer), keeping the
 * field messages beside it for whoever reads the body.
 */
export function asErrorText(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 400) return error;
  const messages = Object.values(error.body).flat();
  return new ApiError(400, { error: messages.join(" ") || "Invalid request.", ...error.body }, error.headers);
}

/** The refresh view's two 401s: no cookie at all, or one that does not (or no longer) work. */
export const refreshRefused = (missing: boolean) =>
  new ApiError(401, { error: missing ? "Missing refresh cookie." : "Invalid refresh token." });
