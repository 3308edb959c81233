/**
 * The upload itself is the problem (not a video, truncated, too large…): retrying cannot help, and the
 * message is shown to the person who uploaded it, so it is one plain sentence without FFmpeg's jargon.
 */
export class InputError extends Error {
  override readonly name = "InputError";
}
