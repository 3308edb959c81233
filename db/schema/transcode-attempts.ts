import { index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { videos } from "./videos.ts";

/**
 * How an attempt ended: `ready`; `error` (the video's last word: bad input, or the last attempt failed);
 * `failed` (retried by the queue); `interrupted` (no word from it before another attempt of the revision
 * started: its worker died, lost the job's lock or handed it back at shutdown; or its file was replaced
 * while no worker held the job). Null while it runs.
 */
export const attemptOutcome = pgEnum("transcode_attempt_outcome", [
  "ready",
  "error",
  "failed",
  "interrupted",
]);

/**
 * Every attempt at transcoding a video revision, as the transcoders report them (api/videos/attempts.ts):
 * BullMQ keeps only a job's latest attempt, and trims finished jobs, so the history lives here. Rows go
 * with their video.
 */
export const transcodeAttempts = pgTable(
  "transcode_attempts",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    videoId: integer("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    revision: integer("revision").notNull(),
    /** The job's run number (BullMQ's attemptsStarted): retries, takeovers, hand-backs and admin retries count on. */
    attempt: integer("attempt").notNull(),
    /** TRANSCODER_NAME of the worker that ran it. */
    worker: text("worker").notNull(),
    /** By the transcoder's clock (the reports' `at`). */
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    outcome: attemptOutcome("outcome"),
    error: text("error"),
  },
  (table) => [
    // A report delivered twice records one attempt.
    uniqueIndex("transcode_attempts_unique").on(table.videoId, table.revision, table.attempt, table.worker),
    // The farm's throughput: attempts finished in the last minutes.
    index("transcode_attempts_finished_idx").on(table.finishedAt),
  ],
);

export type TranscodeAttempt = typeof transcodeAttempts.$inferSelect;
export type AttemptOutcome = (typeof attemptOutcome.enumValues)[number];
