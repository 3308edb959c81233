import { Elysia } from "elysia";
import { ApiError } from "./errors.ts";

/** application/json and the structured `+json` types, in any letter case. */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;

const isJsonType = (contentType: string | undefined) => JSON_TYPE.test(contentType?.trim() ?? "");

/**
 * Parses JSON bodies with a size cap, so a client cannot make the api buffer an arbitrarily large
 * body: declared lengths are refused up front, chunked bodies as soon as they pass the cap.
 */
export const jsonBody = (maxBytes: number) =>
  new Elysia({ name: "json-body" })
    .onParse(async ({ request, contentType }) => {
      // Multipart bodies (video uploads) are streamed by the routes that take them; Elysia's default
      // parser would buffer a whole upload in memory. null = "parsed: nothing", the stream stays unread.
      if (/^multipart\/form-data/i.test(contentType)) return null;
      if (!isJsonType(contentType)) return;
      const tooLarge = () => new ApiError(413, { detail: `Request body is larger than ${maxBytes} bytes.` });
      const declared = Number(request.headers.get("content-length") ?? Number.NaN);
      if (declared > maxBytes) throw tooLarge();
      const text = await readLimited(request, maxBytes, tooLarge);
      if (text.trim() === "") throw new ApiError(400, { detail: "Request body is empty; JSON expected." });
      try {
        return JSON.parse(text);
      } catch {
        throw new ApiError(400, { detail: "Request body is not valid JSON." });
      }
    })
    .as("global");

/**
 * A parse hook for routes that take JSON only (the account endpoints): any other body is refused
 * with 415 before it is read. Form and text/plain bodies are what a foreign page can POST without a
 * CORS preflight, and Elysia's own parsers for them have no size cap.
 */
export function refuseNonJson({ request }: { request: Request }): undefined {
  // jsonBody already took JSON; an absent or empty body is left to the route's schema.
  if (!request.body || request.headers.get("content-length") === "0") return undefined;
  throw new ApiError(415, { detail: "Unsupported body: send JSON with Content-Type: application/json." });
}

async function readLimited(request: Request, maxBytes: number, tooLarge: () => Error): Promise<string> {
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
