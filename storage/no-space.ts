// A full media file system, one definition for every process: the api answers an upload that finds no
// room with 507, a transcoder hands the job back until space is back. Both recognise it alike.

/** The C library's and FFmpeg's words for a full file system or an exhausted quota. */
const NO_SPACE = /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/;

/**
 * The media storage has no room: nobody's upload is at fault, and retrying before space is back fails.
 * A `failure` that does not itself say so (the file system was found full after it) keeps its words in
 * the message: it may be the real failure. (Not as `cause`: the log would print its message twice.)
 */
export class StorageFullError extends Error {
  override readonly name = "StorageFullError";
  constructor(failure?: unknown) {
    super(
      failure instanceof Error && !isNoSpace(failure)
        ? `the media storage is full (the attempt failed with: ${failure.message})`
        : "the media storage is full",
    );
  }
}

/** True for an error raised by a write that found no space (ours, or a tool's relayed in its message). */
export function isNoSpace(error: unknown): boolean {
  if (error instanceof StorageFullError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  return error instanceof Error && NO_SPACE.test(error.message);
}

/** True when a tool's output (FFmpeg's stderr) says one of its writes found no space. */
export const saysNoSpace = (text: string): boolean => NO_SPACE.test(text);
