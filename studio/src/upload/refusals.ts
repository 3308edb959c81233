// What the api's answers to a tus request mean for the person uploading: a refusal in one sentence,
// whether another try could help, and the details a creation cannot do without.
import type { DetailedError } from "tus-js-client";
import { readableError } from "../api/http.ts";
import { formatBytes } from "../ui/format.ts";
import type { VideoDetails } from "./upload-task.ts";

export const sameDetails = (a: VideoDetails, b: VideoDetails) =>
  a.title === b.title && a.description === b.description && a.category === b.category;

/** The api's JSON error in a tus answer, as one sentence. */
export function refusalOf(error: Error, maxBytes: number | null): { status: number; message: string } {
  const response = (error as DetailedError).originalResponse ?? null;
  const status = response?.getStatus() ?? 0;
  let body: unknown = null;
  try {
    body = response ? JSON.parse(response.getBody()) : null;
  } catch {
    body = null;
  }
  // The file itself is at fault: the sentence says so without naming the field.
  const fileProblem = (body as { file?: unknown } | null)?.file;
  if (Array.isArray(fileProblem) && typeof fileProblem[0] === "string")
    return { status, message: fileProblem[0] };
  if (status === 413) {
    const limit = maxBytes === null ? "" : ` It takes files up to ${formatBytes(maxBytes)}.`;
    return { status, message: `The file is too big for this server.${limit}` };
  }
  return { status, message: readableError(status, body) };
}

export function missingDetail(details: VideoDetails): string | null {
  if (details.title.trim() === "") return "Give the video a title first.";
  if (details.category.trim() === "") return "Choose a category first.";
  return null;
}

/** A 4xx that another try would not change (a 409 offset or a 423 lock may clear up). */
export const isRefusal = (status: number) =>
  status >= 400 && status < 500 && status !== 409 && status !== 423;
