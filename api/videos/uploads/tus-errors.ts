// How this project's answers travel through @tus/server: the library sends `{status_code, body}` as
// thrown, so a refusal carries the api's JSON error shape as its body (the route sets the JSON type).
import type { ErrorBody } from "../../http/errors.ts";
import { ApiError } from "../../http/errors.ts";

export interface TusError {
  status_code: number;
  body: string;
}

export const tusError = (status: number, body: ErrorBody): TusError => ({
  status_code: status,
  body: JSON.stringify(body),
});

export const isTusError = (error: unknown): error is TusError =>
  typeof error === "object" &&
  error !== null &&
  typeof (error as TusError).status_code === "number" &&
  typeof (error as TusError).body === "string";

/** An ApiError raised by a service the hooks call (validation, the video's creation) in the tus shape. */
export const asTusError = (error: unknown): unknown =>
  error instanceof ApiError ? tusError(error.status, error.body) : error;

/** The library's plain-text bodies ("Upload-Offset conflict\n") as the api's `{detail}` JSON. */
export function jsonBodyOf(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      JSON.parse(trimmed);
      return trimmed;
    } catch {
      // plain text that happens to start with a brace
    }
  }
  return JSON.stringify({ detail: trimmed || "The upload request was refused." });
}
