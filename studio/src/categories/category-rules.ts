// What the categories page decides without the server: whether a name can be sent, the list's order
// (as the api sorts it: case-insensitive, then by id), and what a refusal means for the page.
import { ApiRequestError } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";

/** The api's limit on a category's name (api/categories/service.ts). */
export const CATEGORY_NAME_LIMIT = 100;

/** Why this name cannot be sent, or null when it can. */
export function categoryNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === "") return "Give the category a name.";
  if (trimmed.length > CATEGORY_NAME_LIMIT) return `At most ${CATEGORY_NAME_LIMIT} characters.`;
  return null;
}

export const sortCategories = (categories: AdminCategory[]): AdminCategory[] =>
  [...categories].sort(
    (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase(), "en") || a.id - b.id,
  );

/** The message of a refused create or rename: the api's words for `name` (a 409 for a taken one). */
export function nameRefusal(error: unknown): string {
  if (error instanceof ApiRequestError && error.body && typeof error.body === "object") {
    const messages = (error.body as Record<string, unknown>).name;
    const first = Array.isArray(messages) ? messages[0] : messages;
    if (typeof first === "string") return first;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The api said the category is not there (deleted elsewhere). */
export const isGone = (error: unknown): boolean => error instanceof ApiRequestError && error.status === 404;

/** A refused delete: the reason to show, and how many videos use the category when the api said so. */
export interface DeleteRefusal {
  message: string;
  videoCount: number | null;
  /** Someone deleted it meanwhile (404). */
  gone: boolean;
}

export function deleteRefusal(error: unknown): DeleteRefusal {
  if (
    error instanceof ApiRequestError &&
    error.status === 409 &&
    error.body &&
    typeof error.body === "object"
  ) {
    const body = error.body as Record<string, unknown>;
    if (body.reason === "in_use") {
      const count = body.video_count;
      const videoCount = typeof count === "number" && Number.isInteger(count) && count >= 0 ? count : null;
      return { message: error.message, videoCount, gone: false };
    }
  }
  if (isGone(error)) {
    return {
      message: "This category is gone already: someone deleted it meanwhile.",
      videoCount: null,
      gone: true,
    };
  }
  return { message: error instanceof Error ? error.message : String(error), videoCount: null, gone: false };
}

/** What the delete dialog knows of its category, read afresh as it opens (the list's count may be old). */
export type DeleteCheck =
  | { kind: "checking" }
  | { kind: "free" }
  | { kind: "in_use"; videoCount: number }
  | { kind: "gone" }
  /** The read failed: Delete is offered anyway, the api refuses it if videos use the category. */
  | { kind: "unread" };

/** The check from a fresh read of the category, or from the error that read ended with. */
export function deleteCheckOf(read: { category: AdminCategory } | { error: unknown }): DeleteCheck {
  if ("category" in read) {
    const count = read.category.video_count;
    return count > 0 ? { kind: "in_use", videoCount: count } : { kind: "free" };
  }
  return isGone(read.error) ? { kind: "gone" } : { kind: "unread" };
}

/** After a refused delete: blocked for good only while videos use it or once it is gone; else retry. */
export function checkAfterRefusal(check: DeleteCheck, refusal: DeleteRefusal): DeleteCheck {
  if (refusal.gone) return { kind: "gone" };
  if (refusal.videoCount !== null && refusal.videoCount > 0) {
    return { kind: "in_use", videoCount: refusal.videoCount };
  }
  return check;
}

export const deleteBlocked = (check: DeleteCheck): boolean =>
  check.kind === "checking" || check.kind === "in_use" || check.kind === "gone";

/**
 * Where the keyboard goes once a row left the list: the next row (by the list's order), else the one
 * before it, else null (the New category field).
 */
export function neighbourOf(categories: AdminCategory[], removedId: number): number | null {
  const index = categories.findIndex((category) => category.id === removedId);
  if (index === -1) return null;
  return (categories[index + 1] ?? categories[index - 1])?.id ?? null;
}

/** "No videos", "1 video", "12 videos". */
export const videoCountLabel = (count: number): string =>
  count === 0 ? "No videos" : `${count} video${count === 1 ? "" : "s"}`;
