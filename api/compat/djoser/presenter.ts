import type { CatalogueEntry } from "../../catalogue/model.ts";
import { ApiError } from "../../http/errors.ts";
import type { AccountLinks } from "../../shared/account-links.ts";
import { mp4UrlsOf, preferredMp4 } from "../media.ts";
import type { DjoserVideo } from "./model.ts";

/** The rung the djoser player starts with (its Plyr quality default). */
const PREFERRED_HEIGHT = 720;

/**
 * The frontend's own routes (djoser's ACTIVATION_URL and PASSWORD_RESET_CONFIRM_URL): path params, no
 * trailing slash; its router hands them to `users/activation/` and `users/reset_password_confirm/`.
 */
export function djoserLinks(frontendUrl: string): AccountLinks {
  const segment = encodeURIComponent;
  return (link) => {
    switch (link.kind) {
      case "activation":
        return `${frontendUrl}/auth/activate/${segment(link.uid)}/${segment(link.token)}`;
      case "password-reset":
        return `${frontendUrl}/auth/reset-password/${segment(link.uid)}/${segment(link.token)}`;
      case "login":
        return `${frontendUrl}/auth/login`;
      case "forgot-password":
        return `${frontendUrl}/auth/forgot`;
    }
  };
}

/**
 * A catalogue entry in the shape of the original backend's VideoSerializer. Every URL is absolute (the
 * frontend uses `thumb` and `video_file` as they are); the media ones are signed MP4s. `categoryKey` is
 * the category's name in the default language: the original's `category` was a choice value that
 * modeltranslation never touched, and the frontend picks a video's row by it (labelling the row in its
 * own language), so a translated name would drop the video into its catch-all Action row.
 */
export function presentDjoserVideo(entry: CatalogueEntry, categoryKey: string): DjoserVideo {
  const sources = mp4UrlsOf(entry);
  return {
    id: entry.id,
    title: entry.title,
    description: entry.description,
    category: categoryKey,
    // Shown as it is on the movie-info page: the reader's language.
    genre: entry.category,
    // The catalogue has no trailers of its own: `trailers/` lends the newest video to the hero.
    is_trailer: false,
    thumb: entry.thumbnail_url,
    hero_frame: entry.thumbnail_url,
    video_file: sources[0]?.url ?? null,
    source_url: preferredMp4(sources, PREFERRED_HEIGHT)?.url ?? null,
    source_variants: sources.map((source) => ({ path: source.url, height: source.height })),
    release: entry.created_at.slice(0, 10),
    director: "",
    license_type: "",
    license_url: "",
    duration: entry.duration_seconds,
    created_at: entry.created_at,
  };
}

/** SimpleJWT's answer to a wrong password and to an inactive account alike (the frontend reads `code`). */
export const noActiveAccount = () =>
  new ApiError(401, {
    detail: "No active account found with the given credentials",
    code: "no_active_account",
  });

/**
 * A refresh token that does not work. SimpleJWT answers 401, and the frontend's interceptor then
 * refreshes again, forever; 400 breaks that loop (the frontend reads neither status nor body).
 */
export const refreshRefused = () =>
  new ApiError(400, { detail: "Token is invalid or expired", code: "token_not_valid" });
