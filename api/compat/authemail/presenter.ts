import type { CatalogueEntry } from "../../catalogue/model.ts";
import { ApiError, type ErrorBody } from "../../http/errors.ts";
import type { AccountLinks } from "../../shared/account-links.ts";
import type { Mp4Source } from "../media.ts";
import type { AuthemailCategory, AuthemailVideo } from "./model.ts";

/** Where the dialect is mounted: its frontend's bases are `<backend>/compat/authemail/api[/accounts]`. */
export const AUTHEMAIL_PREFIX = "/compat/authemail";

/** Where the dialect's MP4 links live: `<publicUrl>/compat/authemail/media/<id>/video[_<N>p].mp4`. */
export const MEDIA_PATH = `${AUTHEMAIL_PREFIX}/media`;

/** The one-time link's `code`: the uidb64 and the token joined by `.` (which base64url never holds). */
export const codeOf = (uid: string, token: string) => `${uid}.${token}`;

/** The uidb64 and token of a `code`, or null when it is not one of ours. */
export function partsOfCode(code: string): { uid: string; token: string } | null {
  const dot = code.indexOf(".");
  if (dot <= 0 || dot === code.length - 1) return null;
  return { uid: code.slice(0, dot), token: code.slice(dot + 1) };
}

/**
 * The frontend's own routes (the original backend's mail templates): `email-verify?code=` and
 * `new-password?code=`, whose pages send the code back unchanged.
 */
export function authemailLinks(frontendUrl: string): AccountLinks {
  return (link) => {
    switch (link.kind) {
      case "activation":
        return `${frontendUrl}/email-verify?${new URLSearchParams({ code: codeOf(link.uid, link.token) })}`;
      case "password-reset":
        return `${frontendUrl}/new-password?${new URLSearchParams({ code: codeOf(link.uid, link.token) })}`;
      case "login":
        return `${frontendUrl}/login`;
      case "forgot-password":
        return `${frontendUrl}/forgot-password`;
    }
  };
}

/** Django's slugify for the category names: ASCII, lower case, words joined by `-`; the id when none is left. */
export function slugOf(category: { id: number; name: string }): string {
  const slug = category.name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_\s-]/g, "")
    .trim()
    .replace(/[-\s]+/g, "-");
  return slug === "" ? String(category.id) : slug;
}

export const presentCategory = (category: { id: number; name: string }): AuthemailCategory => ({
  id: category.id,
  name: category.name,
  slug: slugOf(category),
});

/** The file name the frontend's player asks for: `video.mp4`, or `video_<N>p.mp4` for the rung N px tall. */
const MP4_NAME = /^video(?:_([1-9]\d{1,3})p)?\.mp4$/;

/** The rung a media file name asks for: 0 for `video.mp4` (the tallest), null for another name. */
export function heightOfFile(file: string): number | null {
  const match = MP4_NAME.exec(file);
  if (!match) return null;
  return match[1] === undefined ? 0 : Number(match[1]);
}

/** The rungs tallest first, whatever order they came in. */
const tallestFirst = (sources: readonly Mp4Source[]) => [...sources].sort((a, b) => b.height - a.height);

/** The MP4 a media file name stands for: the tallest for `video.mp4`, else that exact rung (or none). */
export function sourceOfFile(sources: readonly Mp4Source[], height: number): Mp4Source | null {
  if (height === 0) return tallestFirst(sources)[0] ?? null;
  return sources.find((source) => source.height === height) ?? null;
}

/**
 * A catalogue entry in the shape of the original backend's VideoSerializer. `file` is the dialect's
 * media URL of the tallest MP4: the frontend derives each quality by replacing its first `.mp4` with
 * `_<N>p.mp4`, so the signed token rides in the query, where the replacement leaves it.
 */
export function presentAuthemailVideo(
  entry: CatalogueEntry,
  sources: readonly Mp4Source[],
  media: { publicUrl: string; token: string },
): AuthemailVideo {
  const fileUrl = (name: string) =>
    `${media.publicUrl}${MEDIA_PATH}/${entry.id}/${name}?${new URLSearchParams({ token: media.token })}`;
  return {
    id: entry.id,
    title: entry.title,
    description: entry.description,
    file: sources.length > 0 ? fileUrl("video.mp4") : null,
    thumbnail: entry.thumbnail_url,
    category: presentCategory({ id: entry.category_id, name: entry.category }),
    created_at: entry.created_at,
    resolutions: tallestFirst(sources).map((source) => ({
      label: `${source.height}p`,
      src: fileUrl(`video_${source.height}p.mp4`),
      type: "video/mp4" as const,
    })),
  };
}

/** authemail's field name for ours in a reset's 400 (`password`, the only one its form has). */
export function resetFieldErrors(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 400) return error;
  // The service's answer to a used, expired or unknown link: authemail's words for it.
  if (typeof error.body.detail === "string") return unverified();
  const body: ErrorBody = {};
  for (const [field, messages] of Object.entries(error.body))
    body[field === "new_password" ? "password" : field] = messages;
  return new ApiError(400, body, error.headers);
}

/** authemail's answer to a used, expired or unknown code. */
export const unverified = () => new ApiError(400, { detail: "Unable to verify user." });

/** authemail's answer to a wrong password, an unknown address and an unverified account alike. */
export const loginRefused = () => new ApiError(401, { detail: "Unable to login with provided credentials." });
