// The work the api hands the farm: one BullMQ job per video revision on the `transcode` queue.
import { type Static, Type } from "@sinclair/typebox";
import { messageCodec, queueContract } from "./codec.ts";
import { TranscodeResult } from "./media.ts";

export const TranscodeJob = Type.Object({
  videoId: Type.Integer({ minimum: 1 }),
  /** Bumped by every new upload of the video's file; outputs and reports are keyed by it. */
  revision: Type.Integer({ minimum: 1 }),
  /** Storage key of the uploaded source file. */
  sourceKey: Type.String({ minLength: 1 }),
  /** Storage prefix the finished HLS tree is published under (e.g. `videos/12/r3`). */
  outputPrefix: Type.String({ minLength: 1 }),
  /**
   * Whether the transcoder may publish a fast-start rendition first (contract/media.ts
   * fastStartPrefixFor). The api decides: never over a video whose ladder is already published (a
   * replacement of a `ready` video keeps the old revision until the new one is complete). Absent (an
   * older api): no fast start.
   */
  fastStart: Type.Optional(Type.Boolean()),
});
export type TranscodeJob = Static<typeof TranscodeJob>;

/** The queue the api enqueues on and every transcoder consumes; a job's return value is its result. */
export const transcodeJobs = queueContract("transcode", TranscodeJob);
export const TRANSCODE_QUEUE = transcodeJobs.name;
/** A finished job's return value, as BullMQ keeps it (reconciliation reads it back). */
export const transcodeResults = messageCodec(TranscodeResult);

/** One job per video revision: enqueueing the same revision twice is a no-op. */
export const transcodeJobId = (videoId: number, revision: number) => `video-${videoId}-r${revision}`;

/** The video id in a transcode job id, for log lines that only have the id. */
export function videoIdOfJob(jobId: string): number | undefined {
  const match = /^video-(\d+)-r\d+$/.exec(jobId);
  return match ? Number(match[1]) : undefined;
}

/** The video revision a transcode job id names (`video-12-r3`), or undefined for any other id. */
export function revisionOfJob(jobId: string): { videoId: number; revision: number } | undefined {
  const match = /^video-(\d{1,10})-r(\d{1,10})$/.exec(jobId);
  const [videoId, revision] = [Number(match?.[1]), Number(match?.[2])];
  // Ids are PostgreSQL integers: a larger number names no video.
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 2 ** 31 - 1;
  return valid(videoId) && valid(revision) ? { videoId, revision } : undefined;
}
