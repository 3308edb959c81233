// Error bodies in a dialect's own words: our services name fields as the course client does.
import { ApiError, type ErrorBody } from "../http/errors.ts";

/** The dialect's field names for ours, in a service's 400 (frontends show none of them, but logs do). */
export function renamedFields(error: unknown, names: Record<string, string>): unknown {
  if (!(error instanceof ApiError) || error.status !== 400) return error;
  const body: ErrorBody = {};
  for (const [field, messages] of Object.entries(error.body)) body[names[field] ?? field] = messages;
  return new ApiError(400, body, error.headers);
}
