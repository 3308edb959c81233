// Media storage shared by the api and the transcoders: uploads, published HLS trees, thumbnails.
// Everything goes through this interface so that an object store can replace the local volume.
import type { BunFile } from "bun";

export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The upload is larger than ${maxBytes} bytes.`);
    this.name = "UploadTooLargeError";
  }
}

export interface MediaStorage {
  /**
   * Streams `body` into `key` without holding it in memory. The object appears under `key` only once
   * it is complete; past `maxBytes` the write stops with UploadTooLargeError and nothing is kept.
   */
  putStream(
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: { maxBytes: number },
  ): Promise<{ bytes: number }>;
  /** A path on the local file system to read the object from (FFmpeg's input). */
  localPath(key: string): string;
  /** A new private working directory on the same volume, for outputs that are not published yet. */
  createStagingDir(label: string): Promise<string>;
  /** Removes the staging directories created with `label` (an earlier, crashed attempt's). */
  discardStaging(label: string): Promise<void>;
  /** Makes a finished staging directory visible at `prefix` in one step: readers see all of it or none. */
  publishDirectory(stagingDir: string, prefix: string): Promise<void>;
  /** Removes the object or the whole tree under `prefix`; missing is fine. */
  deletePrefix(prefix: string): Promise<void>;
  /** The object for serving (sendfile), or null when it does not exist or is not a regular file. */
  file(key: string): Promise<BunFile | null>;
  /** Removes staging leftovers older than `olderThanMs` (a crashed job's); returns how many. */
  sweepStaging(olderThanMs: number): Promise<number>;
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
