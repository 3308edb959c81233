import { t } from "elysia";

/**
 * The one JSON error shape of the api, compatible with the Videoflix clients: an object whose values
 * are strings (`detail`, `message`) or lists of messages per field.
 */
export const ErrorBody = t.Record(t.String(), t.Union([t.String(), t.Integer(), t.Array(t.String())]), {
  description:
    "Error: `detail` (or `message`) and/or field name → messages; a refusal may add a `reason` and counts (integers)",
  examples: [
    { detail: "Authentication credentials were not provided." },
    { email: ["Enter a valid email address."] },
  ],
});
export type ErrorBody = Record<string, string | number | string[]>;

/** An error a service raises on purpose; the app's error mapper turns it into `status` + `body`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.detail === "string" ? body.detail : `HTTP ${status}`);
    this.name = "ApiError";
  }
}

export const badRequest = (body: ErrorBody) => new ApiError(400, body);
export const unauthorized = (detail = "Authentication credentials were not provided.") =>
  new ApiError(401, { detail });
export const forbidden = (detail = "You do not have permission to perform this action.") =>
  new ApiError(403, { detail });
export const notFound = (detail = "Not found.") => new ApiError(404, { detail });

export class RateLimitedError extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(
      429,
      { detail: `Too many requests. Try again in ${retryAfterSeconds} seconds.` },
      { "retry-after": String(retryAfterSeconds) },
    );
  }
}

/** The media volume has no room left (storage/no-space.ts): the upload is refused, not the request's fault. */
export const storageFull = () => new ApiError(507, { detail: "The media storage is full." });

/** How long a client is asked to wait before it tries again while a dependency is away. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * PostgreSQL or Redis (or another server the request needed) is unreachable or does not answer in
 * time: 503 with Retry-After, the request may be sent again. A write may still have been committed (its
 * answer, not the COMMIT, was lost at a query deadline): a client reads before repeating one.
 */
export class DependencyUnavailableError extends ApiError {
  constructor(readonly dependency: string) {
    super(
      503,
      { detail: "The service is temporarily unavailable. Try again shortly." },
      { "retry-after": String(OUTAGE_RETRY_AFTER_SECONDS) },
    );
    this.name = "DependencyUnavailableError";
  }
}
