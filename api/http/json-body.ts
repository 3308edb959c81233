import { Elysia } from "elysia";
import { ApiError } from "./errors.ts";

/**
 * Parses JSON bodies with a size cap, so a client cannot make the api buffer an arbitrarily large
 * body: declared lengths are refused up front, chunked bodies as soon as they pass the cap.
 */
export const jsonBody = (maxBytes: number) =>
  new Elysia({ name: "json-body" })
    .onParse(async ({ request, contentType }) => {
      if (!contentType.startsWith("application/json")) return;
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
