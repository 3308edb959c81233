import { Elysia } from "elysia";
import { ApiError } from "./errors.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan, pathWithNul } from "./json-shape.ts";

/** application/json and the structured `+json` types, in any letter case. */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;

const isJsonType = (contentType: string | undefined) => JSON_TYPE.test(contentType?.trim() ?? "");

/**
 * The api's one body parser. JSON is parsed with a size cap, so a client cannot make the api buffer
 * an arbitrarily large body: declared lengths are refused up front, chunked bodies as soon as they
 * pass the cap. Any other body is refused with 415 before it is read: Elysia's own text, form and
 * binary parsers have no cap (Bun's sits above the upload limit) and run before a route checks who
 * is asking; text/plain and form bodies are also what a foreign page can POST without a preflight.
 * Bodies nested deeper than MAX_JSON_DEPTH are refused unparsed (validating them stalls the api), and
 * strings holding NUL (which PostgreSQL cannot store) are refused with the field's name.
 */
export const jsonBody = (maxBytes: number) =>
  new Elysia({ name: "json-body" })
    .onParse(async ({ request, contentType }) => {
      // Multipart bodies (video uploads) are streamed by the routes that take them; Elysia's default
      // parser would buffer a whole upload in memory. null = "parsed: nothing", the stream stays unread.
      if (/^multipart\/form-data/i.test(contentType)) return null;
      // tus requests (resumable uploads) hand their body, unread, to the tus server, which streams it.
      // Tus-Resumable is a custom header: a foreign page cannot send one without a CORS preflight.
      if (request.headers.has("tus-resumable")) return null;
      if (!isJsonType(contentType)) return refuseOtherBody(request);
      const tooLarge = () => new ApiError(413, { detail: `Request body is larger than ${maxBytes} bytes.` });
      const declared = Number(request.headers.get("content-length") ?? Number.NaN);
      if (declared > maxBytes) throw tooLarge();
      const text = await readLimited(request, maxBytes, tooLarge);
      if (text.trim() === "") throw new ApiError(400, { detail: "Request body is empty; JSON expected." });
      if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
        throw new ApiError(400, {
          detail: `Request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`,
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError(400, { detail: "Request body is not valid JSON." });
      }
      const withNul = pathWithNul(body);
      if (withNul !== null) throw new ApiError(400, { [withNul]: ["Must not contain NUL characters."] });
      return body;
    })
    .as("global");

/** An absent or empty body is left to the route's schema; any other non-JSON body is a 415. */
function refuseOtherBody(request: Request): undefined {
  if (!request.body || request.headers.get("content-length") === "0") return undefined;
  throw new ApiError(415, {
    detail:
      "Unsupported body: send JSON (Content-Type: application/json), or multipart/form-data for uploads.",
  });
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
