import { badRequest } from "./errors.ts";

/**
 * Refuses the fields of a JSON body that a route does not edit, naming each. Elysia's normalisation
 * silently drops the properties that `additionalProperties: false` forbids, so `{"processing_state":
 * "ready"}` answered 200 having changed nothing; routes call this in `transform`, before it runs.
 */
export function refuseUnknownFields(body: unknown, allowed: ReadonlySet<string>): void {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return; // the schema answers that
  const unknown = Object.keys(body).filter((field) => !allowed.has(field));
  if (unknown.length > 0) {
    throw badRequest(Object.fromEntries(unknown.map((field) => [field, ["This field cannot be edited."]])));
  }
}
