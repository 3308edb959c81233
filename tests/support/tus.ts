// The tus side of the upload tests: raw protocol requests (fetch and curl), tus-js-client wrapped in a
// promise, generated sources, and a test-made HTTP front for what the real edge does not do on cue: cut
// a PATCH's connection at chosen offsets, and be re-pointed at a restarted replica (it passes requests
// to its targets in turn). Replicas behind the real edge: tests/e2e/edge-uploads-replicas.test.ts.
import { createHash } from "node:crypto";
import { Upload, type UploadOptions } from "tus-js-client";
import { sessionHeaders } from "./admin.ts";
import { GeneratedFilm } from "./generated-film.ts";
import type { Client } from "./test-api.ts";

export const TUS = { "tus-resumable": "1.0.0" } as const;

/** Upload-Metadata: keys with base64 values, as the protocol wants. */
export function metadataHeader(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`)
    .join(",");
}

/** A tus request as an admin's browser session sends it (cookies, X-CSRFToken) or anonymously. */
export function tusRequest(
  url: string,
  method: string,
  client: Client | null,
  headers: Record<string, string> = {},
  body?: Uint8Array,
): Promise<Response> {
  return fetch(url, {
    method,
    headers: { ...sessionHeaders(client), ...TUS, ...headers },
    body: body as Uint8Array<ArrayBuffer> | undefined,
  });
}

export const patchHeaders = (offset: number, extra: Record<string, string> = {}) => ({
  "upload-offset": String(offset),
  "content-type": "application/offset+octet-stream",
  ...extra,
});

export const digest = (algorithm: "sha1" | "sha256", bytes: Uint8Array) =>
  createHash(algorithm).update(bytes).digest("base64");

/** `bytes` long: the real MP4's head (so that it passes the sniffing) and then pseudo-random bytes. */
export function sourceOf(mp4: Uint8Array, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let state = 0x9e3779b9;
  const words = new Uint32Array(out.buffer, 0, Math.floor(bytes / 4));
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state >>> 0;
  }
  out.set(mp4.subarray(0, Math.min(mp4.byteLength, bytes)));
  return out;
}

export const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/**
 * tus-js-client's Upload of bytes in memory or of a film generated as it is read, started, as a promise
 * of its URL; `onUpload` sees it to abort it mid-way.
 */
export function tusClientUpload(
  file: Uint8Array | GeneratedFilm,
  options: UploadOptions & { onUpload?: (upload: Upload) => void },
  existing?: Upload,
): Promise<{ upload: Upload; url: string }> {
  return new Promise((resolve, reject) => {
    // A generated film is only ever read through its fileReader, which the client hands it to.
    const input =
      file instanceof GeneratedFilm
        ? (file as unknown as Buffer)
        : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    const reader = file instanceof GeneratedFilm ? { fileReader: file.fileReader() } : {};
    const upload = existing ?? new Upload(input, { retryDelays: null, ...reader, ...options });
    upload.options.onSuccess = () => resolve({ upload, url: upload.url! });
    upload.options.onError = (error) => reject(error);
    options.onUpload?.(upload);
    upload.start();
  });
}

export interface RoundRobin {
  url: string;
  /** Which targets get the next requests (in turn). */
  route(targets: string[]): void;
  /**
   * Kills the connection of the PATCH whose body passes each of these upload offsets (the api sees its
   * request cut short, the client an error), once per offset.
   */
  cutAt(offsets: number[]): void;
  /** How many connections were cut so far. */
  cuts(): number;
  /** How many requests each target got, by its URL. */
  served: Map<string, number>;
  stop(): void;
}

/** An HTTP front on loopback passing each request, body streamed, to the next target in turn. */
export function startRoundRobin(targets: string[]): RoundRobin {
  let current = targets;
  let next = 0;
  let pendingCuts: number[] = [];
  let cut = 0;
  const served = new Map<string, number>();
  /** The PATCH body, passed on until it crosses the next cut offset; then it fails mid-stream. */
  const cutting = (body: ReadableStream<Uint8Array>, offset: number) => {
    let position = offset;
    while (pendingCuts[0] !== undefined && pendingCuts[0] <= offset) pendingCuts.shift();
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          const due = pendingCuts[0];
          if (due !== undefined && position + chunk.byteLength >= due) {
            pendingCuts.shift();
            cut++;
            controller.enqueue(chunk.subarray(0, Math.max(0, due - position)));
            controller.error(new Error(`connection cut at offset ${due}`));
            return;
          }
          position += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 2 ** 40,
    async fetch(request) {
      const target = current[next++ % current.length]!;
      served.set(target, (served.get(target) ?? 0) + 1);
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      try {
        const offset = Number(request.headers.get("upload-offset") ?? Number.NaN);
        const body =
          request.method === "PATCH" && request.body && pendingCuts.length > 0 && Number.isFinite(offset)
            ? cutting(request.body, offset)
            : request.body;
        return await fetch(`${target}${url.pathname}${url.search}`, {
          method: request.method,
          headers,
          body,
          redirect: "manual",
          duplex: "half",
        } as RequestInit);
      } catch {
        return new Response(null, { status: 502 });
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    route: (targets) => {
      current = targets;
    },
    cutAt: (offsets) => {
      pendingCuts = [...offsets].sort((a, b) => a - b);
    },
    cuts: () => cut,
    served,
    stop: () => server.stop(true),
  };
}
