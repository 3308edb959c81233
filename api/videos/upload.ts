import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import busboy from "busboy";
import type { MediaStorage } from "../../storage/index.ts";
import { UploadTooLargeError } from "../../storage/index.ts";
import { isNoSpace } from "../../storage/no-space.ts";
import { ApiError, storageFull } from "../http/errors.ts";
import { SNIFF_BYTES, sniffContainer } from "./sniff.ts";

export interface StoredUpload {
  fields: Record<string, string>;
  file: { key: string; bytes: number; filename: string } | null;
}

// Room for `translations` (JSON): descriptions of up to 5,000 characters in each supported language.
const MAX_FIELD_BYTES = 64 * 1024;
const unsupported = (detail: string) => new ApiError(415, { file: [detail] });

/**
 * Streams a multipart upload: text fields are collected, the `file` part goes straight to storage
 * (never whole in memory) after its first bytes were checked to be a media container.
 */
export async function receiveUpload(
  request: Request,
  storage: MediaStorage,
  options: { maxBytes: number },
): Promise<StoredUpload> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw new ApiError(415, { detail: "Send the video as multipart/form-data with a `file` part." });
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > options.maxBytes + 64 * 1024) throw tooLarge(options.maxBytes);
  if (!request.body) throw new ApiError(400, { detail: "The request has no body." });

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      limits: { files: 1, fields: 20, fieldSize: MAX_FIELD_BYTES, parts: 25 },
    });
  } catch {
    throw new ApiError(400, { detail: "The multipart body is malformed (boundary missing)." });
  }

  const fields: Record<string, string> = {};
  let stored: Promise<StoredUpload["file"]> | null = null;
  const finished = new Promise<void>((resolve, reject) => {
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) reject(new ApiError(400, { [name]: ["This field is too long."] }));
      else fields[name] = value;
    });
    parser.on("file", (name, stream, info) => {
      if (name !== "file") {
        // Drained and dropped; the parser's destroy below may still end it with the request's error.
        stream.on("error", () => {}).resume();
        reject(new ApiError(400, { [name]: ["Unexpected file; send the video in the `file` part."] }));
        return;
      }
      stored = storeFile(stream, info.filename ?? "upload", storage, options.maxBytes);
      stored.catch(reject);
    });
    parser.on("filesLimit", () => reject(new ApiError(400, { file: ["Send exactly one file."] })));
    parser.on("partsLimit", () => reject(new ApiError(400, { detail: "Too many parts in the upload." })));
    parser.on("error", () => reject(new ApiError(400, { detail: "The multipart body is malformed." })));
    parser.on("close", resolve);
  });
  const source = Readable.fromWeb(request.body as unknown as import("node:stream/web").ReadableStream);
  source.on("error", (error) => parser.destroy(error));
  source.pipe(parser);

  try {
    await finished;
    return { fields, file: stored ? await stored : null };
  } catch (error) {
    source.unpipe(parser);
    source.destroy();
    // A file part still streaming would wait forever for bytes that no longer come (a field refused
    // while the file part had begun): destroying the parser errors it, so `stored` settles below.
    parser.destroy(error instanceof Error ? error : undefined);
    // A part already stored is of no use once the request failed.
    const file = stored ? await (stored as Promise<StoredUpload["file"]>).catch(() => null) : null;
    if (file) await storage.deletePrefix(file.key);
    throw error;
  }
}

async function storeFile(
  stream: NodeJS.ReadableStream,
  filename: string,
  storage: MediaStorage,
  maxBytes: number,
): Promise<NonNullable<StoredUpload["file"]>> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Look at the head before writing anything: empty and non-media files never reach storage.
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.byteLength;
  }
  if (headBytes === 0) throw unsupported("The file is empty.");
  const container = sniffContainer(Buffer.concat(head));
  if (!container) {
    throw unsupported(
      "The file is not a video container we can read (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, …).",
    );
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    yield* head;
    while (!ended) {
      const next = await chunks.next();
      if (next.done) return;
      yield next.value;
    }
  }
  // Named by the server, after the sniffed container: the client's extension (.m3u8, .mpd…) must not
  // steer FFmpeg's format detection.
  const key = `sources/${randomUUID()}.${container.extension}`;
  try {
    const { bytes } = await storage.putStream(key, body(), { maxBytes });
    return { key, bytes, filename };
  } catch (error) {
    if (error instanceof UploadTooLargeError) throw tooLarge(maxBytes);
    if (isNoSpace(error)) throw storageFull();
    throw error;
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, { detail: `The upload is larger than the limit of ${maxBytes} bytes.` });
}
