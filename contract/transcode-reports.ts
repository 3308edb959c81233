// What a transcoder reports about a job: durable BullMQ jobs on the reports queue, each applied to
// PostgreSQL by exactly one api replica. (The queue keeps its first name, `video-events`, so replicas
// of different versions can share one Redis during a rolling upgrade.)
import { type Static, Type } from "@sinclair/typebox";
import { queueContract } from "./codec.ts";
import { Rendition, TranscodeResult } from "./media.ts";

const revisionOf = {
  videoId: Type.Integer({ minimum: 1 }),
  revision: Type.Integer({ minimum: 1 }),
  /** ISO 8601 time the transcoder made the report. */
  at: Type.String(),
};

/**
 * Which attempt a final report ends, for the job's history: absent from transcoders older than the
 * fields (the api then closes the revision's attempt still open) and from the api's reconciliation.
 */
const attemptOf = {
  attempt: Type.Optional(Type.Integer({ minimum: 1 })),
  worker: Type.Optional(Type.String()),
};

export const TranscodeReport = Type.Union([
  Type.Object({
    type: Type.Literal("processing"),
    ...revisionOf,
    attempt: Type.Integer({ minimum: 1 }),
    worker: Type.String(),
  }),
  /**
   * The fast-start tree (fastStartPrefixFor) has its master playlist and at least one whole segment:
   * the video can be watched while its ladder is made. Sent again by a retry (the api applies it once).
   */
  Type.Object({
    type: Type.Literal("playable"),
    ...revisionOf,
    /** The one rung of the fast-start tree, as its master playlist lists it. */
    rendition: Rendition,
    /** Path of the master playlist relative to the fast-start prefix. */
    masterPlaylist: Type.String(),
    durationSeconds: Type.Number({ minimum: 0 }),
  }),
  Type.Object({ type: Type.Literal("ready"), ...revisionOf, ...attemptOf, result: TranscodeResult }),
  Type.Object({ type: Type.Literal("error"), ...revisionOf, ...attemptOf, message: Type.String() }),
  /**
   * One attempt failed and the queue will try again (attempts remain): no state changes, the api
   * records it in the job's history. The last attempt's failure is an `error`.
   */
  Type.Object({
    type: Type.Literal("failed"),
    ...revisionOf,
    attempt: Type.Integer({ minimum: 1 }),
    worker: Type.String(),
    message: Type.String(),
  }),
]);
export type TranscodeReport = Static<typeof TranscodeReport>;

export const transcodeReports = queueContract("video-events", TranscodeReport);
export const TRANSCODE_REPORTS_QUEUE = transcodeReports.name;

/**
 * Job id of a report, unique per report: an admin's retry repeats the same transitions, so ids must
 * not collide with an earlier run's. Duplicates are harmless: the api applies transitions conditionally.
 */
export const transcodeReportJobId = (report: TranscodeReport) =>
  `${report.type}-${report.videoId}-r${report.revision}-${Date.parse(report.at)}-${Math.random().toString(36).slice(2, 8)}`;
