import { Elysia, type ValidationError } from "elysia";
import type { Logger } from "pino";
import { ConnectionErrorLog } from "../../connections/error-log.ts";
import { dependencyOutageOf } from "./dependency-outage.ts";
import { ApiError, DependencyUnavailableError, type ErrorBody } from "./errors.ts";
import { loggableError } from "./loggable-error.ts";
import { requestIdOf } from "./request-log.ts";

const NOT_AN_OBJECT = "The request body must be a JSON object.";

/** Field-level messages from a schema failure, in the Videoflix shape `{field: [message]}`. */
function validationBody(error: ValidationError): ErrorBody {
  // A missing body, or JSON that is not an object, has no field to blame: say what was expected.
  if (
    error.type === "body" &&
    (error.value === null || typeof error.value !== "object" || Array.isArray(error.value))
  ) {
    return { detail: NOT_AN_OBJECT };
  }
  const body: Record<string, string[]> = {};
  for (const issue of error.all) {
    const path = "path" in issue && typeof issue.path === "string" ? issue.path : "";
    const field = path.replace(/^\//, "").split("/")[0] || "detail";
    const message =
      "value" in issue && issue.value === undefined
        ? "This field is required."
        : ("summary" in issue && typeof issue.summary === "string" && issue.summary) || "Invalid value.";
    const messages = body[field] ?? [];
    if (!messages.includes(message)) body[field] = [...messages, message];
  }
  if (Object.keys(body).length === 0) return { detail: "The request is invalid." };
  if (body.detail) return { ...body, detail: body.detail.join(" ") };
  return body;
}

/** The single place where thrown errors become HTTP answers with the JSON error shape. */
export const errorMapper = (log: Logger) => {
  // Every request fails alike during an outage: one log line per dependency per interval, not per request.
  const outages = new ConnectionErrorLog(log);
  return new Elysia({ name: "error-mapper" })
    .onError(({ code, error: thrown, set, request }) => {
      // Elysia wraps whatever a body parser throws in a ParseError: an ApiError from our own parser
      // (413 too large, 400 not JSON) keeps its status and message.
      let error = code === "PARSE" && thrown.cause instanceof ApiError ? thrown.cause : thrown;
      const outage = error instanceof ApiError ? null : dependencyOutageOf(error);
      if (outage) {
        // The inner error: one line per distinct outage, never the SQL text or parameters of a query.
        outages.report(`${outage.dependency} unavailable to requests`, outage.error);
        error = new DependencyUnavailableError(outage.dependency);
      }
      if (error instanceof ApiError) {
        set.status = error.status;
        Object.assign(set.headers, error.headers);
        return error.body;
      }
      switch (code) {
        case "VALIDATION":
          set.status = 400;
          return validationBody(error as ValidationError);
        case "PARSE":
          set.status = 400;
          return { detail: "The request body could not be parsed." };
        case "NOT_FOUND":
          set.status = 404;
          return { detail: "Not found." };
        case "INVALID_COOKIE_SIGNATURE":
          set.status = 400;
          return { detail: "A cookie is invalid." };
      }
      const status = (error as { status?: unknown }).status;
      if (typeof status === "number" && status >= 400 && status < 500) {
        set.status = status;
        return { detail: (error as Error).message || "Bad request." };
      }
      log.error({ req_id: requestIdOf(request), err: loggableError(error) }, "unhandled error");
      set.status = 500;
      return { detail: "Internal server error." };
    })
    .as("global");
};
