// The tus data store over this project's media storage drivers (local file system or S3 through Bun's
// S3Client), so resumable uploads land where every other upload does, with no second S3 client (the AWS
// SDK of @tus/s3-store) to configure. On the local file system the bytes are appended to one file that
// the last byte renames into place; object storage cannot append, so each PATCH body becomes one part
// object (a `putStream`, visible only once complete) that the last byte streams into one source. A PATCH
// cut short keeps what arrived (unless it carried a checksum). Either way the offset is read from the
// store on every request, so any replica (or a restarted api) resumes where the last one stopped. Chunks are never held whole in memory.
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { DataStore, ERRORS, Upload } from "@tus/server";
import type { MediaStorage, Reclaimed, StoredObject } from "../../../storage/index.ts";
import { OffsetMismatchError, UploadTooLargeError } from "../../../storage/index.ts";
import { isNoSpace } from "../../../storage/no-space.ts";
import type { Clock } from "../../shared/clock.ts";
import { SNIFF_BYTES, sniffContainer } from "../sniff.ts";
import { tusError } from "./tus-errors.ts";

/** The Upload-Checksum of the PATCH being handled (set by the route around the library's handling). */
export interface ChunkChecksum {
  algorithm: "sha1" | "sha256";
  digest: Buffer;
}
export const chunkChecksum = new AsyncLocalStorage<ChunkChecksum | null>();

/** tus upload ids as the library names them (16 random bytes, hex): safe as a storage key segment. */
export const UPLOAD_ID = /^[0-9a-f]{32}$/;

const OFFSET_DIGITS = 16;
const uploadPrefix = (id: string) => `uploads/${id}`;
const infoKey = (id: string) => `uploads/${id}/info.json`;
const completeKey = (id: string) => `uploads/${id}/complete`;
/** Names the source key the last byte's bytes are (being) put at, written before they move. */
const assembledKey = (id: string) => `uploads/${id}/assembled`;
const dataKey = (id: string) => `uploads/${id}/data`;
const partsPrefix = (id: string) => `uploads/${id}/parts/`;
const partKey = (id: string, offset: number) =>
  `${partsPrefix(id)}${String(offset).padStart(OFFSET_DIGITS, "0")}`;

/**
 * Frees a request-body chunk's memory now that its bytes are stored, instead of when the collector gets
 * to it: a PATCH arrives as thousands of fresh 64–256 KiB buffers, and JSC collects only after tens of
 * MiB were allocated, so without this the api's RSS swung 40–100 MiB above its start during a 1 GiB
 * upload (BENCHMARKS.md). Detaching (`transfer(0)`) releases the backing store at once and the allocator
 * hands the same memory to the next chunk. Only a chunk that is its buffer's one whole view: a view of
 * part of a buffer may share it with bytes not consumed yet.
 */
function release(chunk: Uint8Array): void {
  const { buffer } = chunk;
  if (buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength) {
    buffer.transfer(0);
  }
}

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

interface StoredInfo {
  id: string;
  size: number;
  metadata: Record<string, string | null>;
}

/** What the store knows of one upload, from one listing of its prefix. */
interface UploadState {
  info: StoredInfo;
  /** The stored bytes in order: the appended file (local), or the parts (object storage). */
  segments: Array<{ key: string; size: number }>;
  offset: number;
  complete: boolean;
  /**
   * The source key the bytes were put at (or are being put at) for its video, while that video is
   * not known to be made: every byte is in, even where `segments` no longer shows them (renamed).
   */
  assembled: string | null;
  /** Epoch ms of the newest write: the upload expires UPLOAD_EXPIRY after it. */
  lastActivity: number;
}

const unsupportedMedia = () =>
  tusError(415, {
    file: ["The file is not a video container we can read (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, …)."],
  });
const checksumMismatch = () => tusError(460, { detail: "Checksum mismatch: the chunk was not stored." });

export class StorageUploadStore extends DataStore {
  override extensions = ["creation", "creation-with-upload", "termination", "expiration", "checksum"];

  constructor(
    private readonly deps: {
      storage: MediaStorage;
      clock: Clock;
      /** UPLOAD_EXPIRY: an upload nothing wrote to for this long is gone. */
      expirySeconds: number;
      /** Called once an upload was refused for its content (it is removed from the store first). */
      onRefused: (id: string) => Promise<void>;
    },
  ) {
    super();
  }

  override async create(upload: Upload): Promise<Upload> {
    const info: StoredInfo = { id: upload.id, size: upload.size ?? 0, metadata: upload.metadata ?? {} };
    // Room for the metadata's translations (up to 64 KiB of JSON, as a multipart upload's field).
    await this.deps.storage.putStream(infoKey(upload.id), bytesOf(JSON.stringify(info)), {
      maxBytes: 256 * 1024,
    });
    upload.creation_date = this.deps.clock.now().toISOString();
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const state = await this.state(id);
    if (!state) throw ERRORS.FILE_NOT_FOUND;
    return new Upload({
      id,
      size: state.info.size,
      offset: state.offset,
      metadata: state.info.metadata,
      // The library counts expiry from `creation_date`: reporting the last write makes it "untouched for".
      creation_date: new Date(state.lastActivity).toISOString(),
      storage: { type: "media-storage", path: uploadPrefix(id) },
    });
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const state = await this.state(id);
    if (!state) throw ERRORS.FILE_NOT_FOUND;
    const expected = chunkChecksum.getStore() ?? null;
    const hash = expected ? createHash(expected.algorithm) : null;
    const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await chunks.next();
    if (first.done) {
      if (hash && !hash.digest().equals(expected!.digest)) throw checksumMismatch();
      return offset;
    }
    // The head of the file is checked as it arrives, like a multipart upload's, before the part is kept.
    const sniffUpTo = Math.min(SNIFF_BYTES, state.info.size);
    const head: Buffer[] = offset < sniffUpTo ? [await this.storedHead(state)] : [];
    let headBytes = head[0]?.byteLength ?? 0;
    let sniffed = offset >= sniffUpTo;
    let refused = false;
    const check = () => {
      sniffed = true;
      if (!sniffContainer(Buffer.concat(head))) {
        refused = true;
        throw unsupportedMedia();
      }
    };
    /** Set when the request's body broke off: what arrived before it is stored all the same. */
    const cut: { error?: unknown } = {};
    async function* body(): AsyncGenerator<Uint8Array> {
      let next: IteratorResult<Buffer> = first;
      while (!next.done) {
        const chunk = next.value;
        hash?.update(chunk);
        if (!sniffed) {
          head.push(chunk);
          headBytes += chunk.byteLength;
          if (headBytes >= sniffUpTo) check();
        }
        yield chunk;
        // Resumed: the storage driver has written (or copied) the chunk; the sniff is done with it too.
        if (sniffed) release(chunk);
        try {
          next = await chunks.next();
        } catch (error) {
          // A cut connection: without a checksum to prove otherwise, what arrived is the file's and is
          // kept (tus: the server SHOULD keep all it can), so a one-PATCH upload of a film resumes
          // where it broke, not from 0. With a checksum the chunk cannot be checked: none of it is kept.
          if (hash) throw error;
          cut.error = error;
          return;
        }
      }
      // Checked before the part becomes visible: a mismatching chunk is never stored.
      if (hash && !hash.digest().equals(expected!.digest)) throw checksumMismatch();
    }
    const maxBytes = state.info.size - offset;
    try {
      const { appendable } = this.deps.storage;
      const end = appendable
        ? await appendable.append(dataKey(id), body(), { offset, maxBytes })
        : offset + (await this.deps.storage.putStream(partKey(id, offset), body(), { maxBytes })).bytes;
      // The request still failed (its client is gone); the bytes are stored, and HEAD reports them.
      if ("error" in cut) throw cut.error;
      return end;
    } catch (error) {
      if (refused) {
        await this.remove(id);
        await this.deps.onRefused(id);
      }
      if (error instanceof OffsetMismatchError) throw ERRORS.INVALID_OFFSET;
      if (error instanceof UploadTooLargeError) throw ERRORS.ERR_SIZE_EXCEEDED;
      if (isNoSpace(error)) throw tusError(507, { detail: "The media storage is full." });
      throw error;
    }
  }

  override async remove(id: string): Promise<void> {
    if (!(await this.deps.storage.stat(infoKey(id)))) throw ERRORS.FILE_NOT_FOUND;
    await this.deps.storage.deletePrefix(uploadPrefix(id));
  }

  override getExpiration(): number {
    return this.deps.expirySeconds * 1000;
  }

  override async deleteExpired(): Promise<number> {
    return (await this.sweepExpired()).items;
  }

  /** Removes every upload (finished or not) nothing wrote to for UPLOAD_EXPIRY, with its bytes. */
  async sweepExpired(): Promise<Reclaimed & { ids: string[] }> {
    const uploads = new Map<string, { lastActivity: number; bytes: number }>();
    for await (const object of this.deps.storage.list("uploads/")) {
      const id = object.key.split("/")[1]!;
      const seen = uploads.get(id) ?? { lastActivity: 0, bytes: 0 };
      seen.lastActivity = Math.max(seen.lastActivity, object.lastModified);
      seen.bytes += object.size;
      uploads.set(id, seen);
    }
    const cutoff = this.deps.clock.now().getTime() - this.getExpiration();
    const reclaimed = { items: 0, bytes: 0, ids: [] as string[] };
    for (const [id, { lastActivity, bytes }] of uploads) {
      if (lastActivity > cutoff || !UPLOAD_ID.test(id)) continue;
      await this.deps.storage.deletePrefix(uploadPrefix(id));
      reclaimed.items++;
      reclaimed.bytes += bytes;
      reclaimed.ids.push(id);
    }
    return reclaimed;
  }

  /** The first bytes of a complete upload's file, to name its source after the container. */
  async head(id: string): Promise<Buffer> {
    const state = await this.state(id);
    if (!state) throw ERRORS.FILE_NOT_FOUND;
    return this.storedHead(state);
  }

  /** Every bytes in and no video known yet: a finishing that failed or was killed, to be done again. */
  async awaitsVideo(id: string): Promise<boolean> {
    const state = await this.state(id);
    return state !== null && !state.complete && state.offset === state.info.size;
  }

  /**
   * The complete upload as one object: the appended file renamed (local), or the parts written in order
   * (streamed: object storage has no server-side concatenation through Bun's client, so the bytes pass
   * through the api once more). Its key is recorded first, so a finishing killed half-way is taken up
   * again with the same key (`proposedKey` is used only the first time): HEAD still reports every byte,
   * no second copy is made, and the periodic sweep knows the source is not an orphan.
   */
  async assemble(id: string, proposedKey: string): Promise<{ key: string; bytes: number }> {
    const state = await this.state(id);
    if (!state || state.offset !== state.info.size) throw ERRORS.FILE_NOT_FOUND;
    const storage = this.deps.storage;
    const size = state.info.size;
    const key = state.assembled ?? proposedKey;
    if (state.assembled === null) await storage.putStream(assembledKey(id), bytesOf(key), { maxBytes: 1024 });
    if (storage.appendable) {
      if (state.segments.some((segment) => segment.key === dataKey(id))) {
        await storage.appendable.rename(dataKey(id), key);
      }
      const placed = await storage.stat(key);
      if (placed?.size !== size)
        throw new Error(`upload ${id}: ${key} holds ${placed?.size ?? 0} of ${size} bytes`);
      return { key, bytes: size };
    }
    // Copied whole before a finishing was killed (an object appears only once complete): kept.
    if ((await storage.stat(key))?.size === size) return { key, bytes: size };
    async function* whole(): AsyncGenerator<Uint8Array> {
      for (const part of state!.segments) yield* storage.readStream(part.key);
    }
    const { bytes } = await storage.putStream(key, whole(), { maxBytes: size });
    if (bytes !== size) {
      await storage.deletePrefix(key);
      throw new Error(`assembled ${bytes} of ${size} bytes of upload ${id}`);
    }
    return { key, bytes };
  }

  /** Undoes `assemble` when the video could not be made: the upload stays complete, to be finished again. */
  async disassemble(id: string, key: string): Promise<void> {
    if (this.deps.storage.appendable) await this.deps.storage.appendable.rename(key, dataKey(id));
    else await this.deps.storage.deletePrefix(key);
    await this.deps.storage.deletePrefix(assembledKey(id));
  }

  /** The upload became a video: its bytes go, a marker keeps HEAD answering "complete" until expiry. */
  async markComplete(id: string, videoId: number): Promise<void> {
    await this.deps.storage.putStream(completeKey(id), bytesOf(String(videoId)), { maxBytes: 64 });
    await this.deps.storage.deletePrefix(partsPrefix(id).slice(0, -1));
    await this.deps.storage.deletePrefix(dataKey(id));
    await this.deps.storage.deletePrefix(assembledKey(id));
  }

  /** The source keys that uploads being finished have claimed (the sweep of orphan sources spares them). */
  async assembledSources(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const object of this.deps.storage.list("uploads/")) {
      if (!object.key.endsWith("/assembled")) continue;
      const key = await this.deps.storage.readText(object.key);
      if (key) keys.add(key);
    }
    return keys;
  }

  private async state(id: string): Promise<UploadState | null> {
    if (!UPLOAD_ID.test(id)) return null;
    const objects: StoredObject[] = [];
    for await (const object of this.deps.storage.list(`${uploadPrefix(id)}/`)) objects.push(object);
    const info = objects.find((object) => object.key === infoKey(id));
    if (!info) return null;
    const text = await this.deps.storage.readText(infoKey(id));
    if (text === null) return null;
    const stored = JSON.parse(text) as StoredInfo;
    const complete = objects.some((object) => object.key === completeKey(id));
    const assembled = objects.some((object) => object.key === assembledKey(id))
      ? await this.deps.storage.readText(assembledKey(id))
      : null;
    const lastActivity = Math.max(...objects.map((object) => object.lastModified));
    // The appended file, or parts named by their start offset, in key order: only a contiguous run from 0.
    const segments: UploadState["segments"] = [];
    let offset = 0;
    const data = objects.find((object) => object.key === dataKey(id));
    if (data) segments.push({ key: data.key, size: data.size });
    for (const object of data ? [] : objects) {
      if (!object.key.startsWith(partsPrefix(id))) continue;
      const start = Number(object.key.slice(partsPrefix(id).length));
      if (start !== offset) break;
      segments.push({ key: object.key, size: object.size });
      offset += object.size;
    }
    if (data) offset = data.size;
    return {
      info: stored,
      segments,
      offset: complete || assembled ? stored.size : offset,
      complete,
      assembled,
      lastActivity,
    };
  }

  /** Up to SNIFF_BYTES of what is stored already, from the first parts (or the source they became). */
  private async storedHead(state: UploadState): Promise<Buffer> {
    const head: Buffer[] = [];
    let bytes = 0;
    const segments =
      state.segments.length === 0 && state.assembled ? [{ key: state.assembled }] : state.segments;
    for (const part of segments) {
      for await (const chunk of this.deps.storage.readStream(part.key)) {
        head.push(Buffer.from(chunk));
        bytes += chunk.byteLength;
        if (bytes >= SNIFF_BYTES) return Buffer.concat(head).subarray(0, SNIFF_BYTES);
      }
    }
    return Buffer.concat(head);
  }
}
