// A transcode job's failure reason as people read it: shared by reconciliation (which turns a job that
// failed without its report landing into the video's error) and the farm's list of failed jobs.

/** A job's failure reason as a sentence for the admin; BullMQ's own wording is not for people. */
export function readableFailure(reason: string | undefined): string {
  if (!reason) return "Transcoding failed for an unknown reason.";
  if (/stalled more than allowable limit/i.test(reason)) {
    return "The transcoder stopped while working on this video too many times (it may have crashed or run out of memory).";
  }
  return reason.startsWith("Transcoding failed") || /^The /.test(reason)
    ? reason
    : `Transcoding failed: ${reason}`;
}
