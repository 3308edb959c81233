// Media storage shared by the api and the transcoders: uploads, published HLS trees, thumbnails.
// Everything goes through this interface so that an object store can replace the local volume.
import type { BunFile } from "bun";

export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The upload is larger than ${maxBytes} bytes.`);
    this.name = "UploadTooLargeError";
  }
}

/** An object as a listing shows it. */
export interface StoredObject {
  key: string;
  size: number;
  /** Epoch ms. */
  lastModified: number;
}

/** A staging directory as a sweep sees it. */
export interface StagingEntry {
  /** The label it was created with (as made safe for a folder name). */
  label: string;
  path: string;
  /** Epoch ms of the newest write inside it (its own time when empty). */
  lastModified: number;
  /** Bytes of the files inside it. */
  bytes: number;
}

/** What a sweep removed: folders or trees, and their bytes where known. */
export interface Reclaimed {
  items: number;
  bytes: number;
}

/** How playback hands an object to a client: a local file to send, or a short-lived URL to fetch. */
export type MediaDelivery =
  | { kind: "file"; file: BunFile }
  | { kind: "url"; url: string; expiresAtSeconds: number };

/** Progress of a long transfer, for the transcoder's stages. */
export type TransferProgress = (done: number, total: number) => void;

/**
 * Objects that grow in place, for resumable uploads: only a file system has them (object storage cannot
 * append, and its resumable uploads are kept as parts instead).
 */
export interface AppendableObjects {
  /**
   * Appends `body` to `key` (created when missing), which must hold exactly `offset` bytes; all or
   * nothing: on any error (the body's own, past `maxBytes`) the object is cut back to `offset`. Returns
   * the new size. Like putStream, it is done with a chunk (written or copied) before it pulls the next.
   */
  append(
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: { offset: number; maxBytes: number },
  ): Promise<number>;
  /** Renames the object: no byte is copied. */
  rename(from: string, to: string): Promise<void>;
}

export class OffsetMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`the object holds ${actual} bytes, not ${expected}`);
    this.name = "OffsetMismatchError";
  }
}

export interface MediaStorage {
  /** `local`: one file system shared by every process; `s3`: a bucket, processes share no disk. */
  readonly kind: "local" | "s3";
  /** In-place appends and renames (the local driver); undefined with object storage. */
  readonly appendable?: AppendableObjects;
  /**
   * Streams `body` into `key` without holding it in memory. The object appears under `key` only once
   * it is complete; past `maxBytes` the write stops with UploadTooLargeError and nothing is kept.
   * Each chunk is written or copied before the next is pulled: the caller may free it then.
   */
  putStream(
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: { maxBytes: number },
  ): Promise<{ bytes: number }>;
  /** Size and modification time of an object; null when it does not exist. */
  stat(key: string): Promise<{ size: number; lastModified: number } | null>;
  /**
   * The object as a file FFmpeg can read: the local driver's own path, or a copy downloaded into `dir`
   * (streamed, and checked against the object's size).
   */
  fetchToLocal(key: string, dir: string, onProgress?: TransferProgress): Promise<string>;
  /** A new private working directory for outputs that are not published yet. */
  createStagingDir(label: string): Promise<string>;
  /** Removes the staging directories created with `label` (give each owner a label of its own). */
  discardStaging(label: string): Promise<void>;
  /**
   * Puts a finished staging directory at `prefix` and removes the staging directory. Local: one rename,
   * readers see all of it or none. S3: uploads every file (playlists last); the prefix is a revision's own,
   * and nothing points at it until the database switches the video's published revision. An aborted
   * `signal` stops an upload before its next file (a transcode attempt that lost its job must not write
   * over the holder's tree); a rename is never half done.
   */
  publishDirectory(
    stagingDir: string,
    prefix: string,
    onProgress?: TransferProgress,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Puts one local file at `key`, whole or not at all (a reader sees the old object or the new one,
   * never part of one): how a fast-start segment or playlist is published as soon as it is complete.
   */
  putFile(localPath: string, key: string): Promise<void>;
  /** Removes the object or the whole tree under `prefix`; missing is fine. */
  deletePrefix(prefix: string): Promise<void>;
  /** Every object under `prefix` (a folder: end it with "/"), in key order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** The object's bytes as they are read (never whole in memory); it must exist. */
  readStream(key: string): AsyncIterable<Uint8Array>;
  /** A small object's text (playlists), or null when it does not exist. */
  readText(key: string): Promise<string | null>;
  /**
   * How a client gets the object: the file itself, or a URL valid for `expiresInSeconds`; null if missing.
   * `downloadAs`: a URL's answer says `Content-Disposition: attachment` with that file name.
   */
  deliver(
    key: string,
    expiresInSeconds: number,
    options?: { downloadAs?: string },
  ): Promise<MediaDelivery | null>;
  /** A GET URL of `key` valid for `expiresInSeconds` (object storage), or null: the local driver has none. */
  presign(key: string, expiresInSeconds: number): string | null;
  /**
   * Removes the staging directories `doomed` picks (a lost attempt's, a killed process's); the caller
   * knows who owns which label. Returns what went.
   */
  sweepStaging(doomed: (entry: StagingEntry) => boolean | Promise<boolean>): Promise<Reclaimed>;
  /**
   * Removes the staging of uploads that will never finish: this process's own that no upload is writing
   * any more, and anyone's that nothing wrote to for `maxIdleMs` (a killed api's, a hung request's).
   */
  sweepUploads(maxIdleMs: number): Promise<Reclaimed>;
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Keys are relative paths of plain segments ("videos/12/r3/720p/seg_00001.ts"): no "..", no absolute
 * paths, no hidden files; anything else is refused before it reaches the file system.
 */
export function assertSafeKey(key: string): void {
  const segments = key.split("/");
  if (key.length === 0 || key.length > 512 || !segments.every((segment) => SAFE_SEGMENT.test(segment))) {
    throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
  }
}

export const isSafeKey = (key: string) => {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
};

export { LocalMediaStorage } from "./local.ts";
export { openMediaStorage } from "./open.ts";
export { S3MediaStorage } from "./s3.ts";
export { isUploadStaging } from "./staging.ts";
