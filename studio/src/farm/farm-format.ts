// How the Farm page writes a transcoder's figures for people: its encoder, how long it has run, how long
// ago it was last heard from, and a retried job's outcome. Ages count on from the server's figure with the
// time since it was read (never the browser's clock against the server's: the two may be minutes apart).
import type { FailedFarmJob, FarmTranscoder } from "../api/types.ts";

/** "CPU" or "GPU" (as the server says: its `gpu`) and what does the work: the badge and its detail. */
export function encoderLabel(transcoder: Pick<FarmTranscoder, "hwaccel" | "encoder" | "gpu">): {
  kind: "CPU" | "GPU";
  detail: string;
} {
  const kind = transcoder.gpu ? "GPU" : "CPU";
  switch (transcoder.hwaccel) {
    case "none":
      return { kind, detail: transcoder.encoder };
    case "nvenc":
      return { kind, detail: `${transcoder.encoder} (NVENC)` };
    case "cuda-decode":
      return { kind, detail: `CUDA decode, ${transcoder.encoder}` };
    default:
      // A mode this studio does not know yet: named as the transcoder names it.
      return { kind, detail: `${transcoder.hwaccel}, ${transcoder.encoder}` };
  }
}

/** Heartbeats older than this are not "online" any more (the server's HEARTBEAT_STALE_MS). */
export const QUIET_AFTER_SECONDS = 15;

/**
 * What a card says of a transcoder: `online`; `quiet` as the server listed it; or `unconfirmed`: listed
 * online, but its heartbeat as counted on is past the quiet mark, or the farm could not be read again,
 * so "online" is no longer known.
 */
export function transcoderStatus(
  listedQuiet: boolean,
  ageSeconds: number,
  refreshFailed: boolean,
): "online" | "quiet" | "unconfirmed" {
  if (listedQuiet) return "quiet";
  return ageSeconds > QUIET_AFTER_SECONDS || refreshFailed ? "unconfirmed" : "online";
}

/** The failed list's count: all of them, or the latest listed of the queue's count when it has more. */
export function failedCount(listed: number, inQueue: number | null): string {
  return inQueue !== null && inQueue > listed
    ? `The latest ${listed} of ${inQueue.toLocaleString("en-GB")}`
    : `${listed} kept by the queue`;
}

/** A failure of a job, as the page tells one failure from the next of the same job. */
export const failureKey = (job: Pick<FailedFarmJob, "job_id" | "failed_at">): string =>
  `${job.job_id}:${job.failed_at ?? ""}`;

/**
 * Whether the "queued again" notice of a retry is overtaken: the job is listed again, failed after the
 * failure that was retried (its row says more now).
 */
export function failedAgain(
  retried: { jobId: string; failedAt: string | null },
  jobs: ReadonlyArray<Pick<FailedFarmJob, "job_id" | "failed_at">>,
): boolean {
  const before = retried.failedAt === null ? Number.NEGATIVE_INFINITY : Date.parse(retried.failedAt);
  return jobs.some(
    (job) => job.job_id === retried.jobId && job.failed_at !== null && Date.parse(job.failed_at) > before,
  );
}

/** 45 s, 12 min, 3 h 05 min, 2 d 4 h: the largest two units that matter. */
export function formatUptime(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** "just now", "8 s ago", "3 min ago", "1 h ago". Heartbeats come every 5 s, so under 2 s is now. */
export function formatAge(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** A figure read at `readAtMs` (performance.now()), counted on to `nowMs`. */
export const countedOn = (seconds: number, readAtMs: number, nowMs: number): number =>
  seconds + Math.max(0, (nowMs - readAtMs) / 1000);

/** The job a retry re-queued, named as the page says it. */
export function retriedMessage(title: string | null, jobId: string): string {
  return title === null ? `Job ${jobId} is queued again.` : `“${title}” is queued again (job ${jobId}).`;
}

/** Why a failed job cannot be retried from the page (the api would refuse it), or null when it can. */
export function retryRefusal(
  job: Pick<FailedFarmJob, "video_id" | "video_state" | "current">,
): string | null {
  if (job.video_id === null) return "Not a video's job: see the queue dashboard.";
  if (job.video_state === null) return "The video was deleted.";
  if (!job.current) return "The file was replaced since: this job transcoded an old one.";
  if (job.video_state !== "error") return `The video is ${job.video_state} now.`;
  return null;
}
