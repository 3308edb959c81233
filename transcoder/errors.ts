/**
 * The upload itself is the problem (not a video, truncated, too large…): retrying cannot help, and the
 * message is shown to the person who uploaded it, so it is one plain sentence without FFmpeg's jargon.
 */
export class InputError extends Error {
  override readonly name = "InputError";
}

/**
 * The working file system (media root or scratch) has no room: neither the upload's fault nor worth an
 * attempt. The worker hands the job back without counting it and waits for space (storage-space.ts).
 */
export class StorageFullError extends Error {
  override readonly name = "StorageFullError";
  constructor() {
    super("the media storage is full");
  }
}
