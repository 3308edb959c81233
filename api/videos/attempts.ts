// The job history of each video: one row per transcoding attempt, written from the transcoders'
// reports (api/videos/lifecycle.ts hands each report here before applying it). BullMQ's job keeps only
// its latest attempt and is trimmed once finished, so this table is what the studio shows.
//
// Reports reach the api in any order (the consumer runs several at once, a failed one is retried), so
// every write is an upsert keyed by (video, revision, attempt, worker) and none depends on another
// having landed first: a finish that arrives before its start records both times once the start lands.
import { and, desc, eq, gte, isNull, lt, sql } from "drizzle-orm";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import type { Database } from "../../db/client.ts";
import { type AttemptOutcome, type TranscodeAttempt, transcodeAttempts } from "../../db/schema/index.ts";

/** PostgreSQL's foreign-key refusal: the video was deleted before its report landed. */
const FOREIGN_KEY_VIOLATION = "23503";

function isForeignKeyViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) return true;
    current = current.cause;
  }
  return false;
}

export interface FarmThroughput {
  /** Attempts that ended `ready` in the window. */
  completed: number;
  /** Attempts that ended `failed` or `error` in the window. */
  failed: number;
}

export class TranscodeAttempts {
  constructor(private readonly deps: { db: Database }) {}

  /** Records what the report says about its attempt; a report of a deleted video records nothing. */
  async record(report: TranscodeReport): Promise<void> {
    try {
      await this.write(report);
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
    }
  }

  /** Every attempt of the video, the latest first (revision, then attempt: workers' clocks differ). */
  history(videoId: number): Promise<TranscodeAttempt[]> {
    return this.deps.db
      .select()
      .from(transcodeAttempts)
      .where(eq(transcodeAttempts.videoId, videoId))
      .orderBy(
        desc(transcodeAttempts.revision),
        desc(transcodeAttempts.attempt),
        desc(transcodeAttempts.startedAt),
      );
  }

  /** Attempts that ended since `since` (by the transcoders' clocks), by outcome. */
  async throughputSince(since: Date): Promise<FarmThroughput> {
    const [row] = await this.deps.db
      .select({
        completed: sql<number>`count(*) filter (where ${transcodeAttempts.outcome} = 'ready')::int`,
        failed: sql<number>`count(*) filter (where ${transcodeAttempts.outcome} in ('failed', 'error'))::int`,
      })
      .from(transcodeAttempts)
      .where(gte(transcodeAttempts.finishedAt, since));
    return { completed: row?.completed ?? 0, failed: row?.failed ?? 0 };
  }

  private async write(report: TranscodeReport): Promise<void> {
    const { db } = this.deps;
    const at = new Date(report.at);
    const revision = and(
      eq(transcodeAttempts.videoId, report.videoId),
      eq(transcodeAttempts.revision, report.revision),
    );
    switch (report.type) {
      case "playable":
        return;
      case "processing": {
        await db
          .insert(transcodeAttempts)
          .values({ ...this.key(report, report.attempt, report.worker), startedAt: at })
          .onConflictDoUpdate({ target: this.conflictTarget, set: { startedAt: at } });
        // An attempt of the revision still open with a lower number will never report: its worker died,
        // lost the job's lock or handed the job back at shutdown. The numbers (BullMQ's attemptsStarted)
        // only grow; the start times come from different workers' clocks and cannot decide.
        await db
          .update(transcodeAttempts)
          .set({
            finishedAt: sql`greatest(${transcodeAttempts.startedAt}, ${at.toISOString()}::timestamptz)`,
            outcome: "interrupted",
          })
          .where(
            and(revision, isNull(transcodeAttempts.outcome), lt(transcodeAttempts.attempt, report.attempt)),
          );
        // This start landed after a later attempt's (reports arrive in any order): it is over already,
        // ended when the first later attempt started (never before its own start, whatever the clocks).
        const laterStart = sql`(select min(later.started_at) from ${transcodeAttempts} as later
          where later.video_id = ${report.videoId} and later.revision = ${report.revision}
            and later.attempt > ${report.attempt})`;
        await db
          .update(transcodeAttempts)
          .set({
            finishedAt: sql`greatest(${transcodeAttempts.startedAt}, ${laterStart})`,
            outcome: "interrupted",
          })
          .where(
            and(
              revision,
              eq(transcodeAttempts.attempt, report.attempt),
              eq(transcodeAttempts.worker, report.worker),
              isNull(transcodeAttempts.outcome),
              sql`${laterStart} is not null`,
            ),
          );
        return;
      }
      case "failed":
      case "ready":
      case "error": {
        const outcome: AttemptOutcome = report.type;
        const error = report.type === "ready" ? null : report.message;
        const finish = { finishedAt: at, outcome, error };
        if (report.attempt !== undefined && report.worker !== undefined) {
          // Started at the finish until the start lands (a report delivered late), never left null.
          await db
            .insert(transcodeAttempts)
            .values({ ...this.key(report, report.attempt, report.worker), startedAt: at, ...finish })
            .onConflictDoUpdate({ target: this.conflictTarget, set: finish });
          return;
        }
        // A report that does not name its attempt (an older transcoder, the api's reconciliation):
        // it ends the revision's latest attempt still open, if any.
        const [open] = await db
          .select({ id: transcodeAttempts.id })
          .from(transcodeAttempts)
          .where(and(revision, isNull(transcodeAttempts.outcome)))
          .orderBy(desc(transcodeAttempts.startedAt))
          .limit(1);
        if (open) await db.update(transcodeAttempts).set(finish).where(eq(transcodeAttempts.id, open.id));
        return;
      }
    }
  }

  /**
   * Ends the revision's attempts still open as `interrupted`, saying why: its job was removed with no
   * run holding it (its file replaced while a film waited for its pieces, or while the job waited after
   * a hand-back), so none of them will ever report. A report that lands after all still records its end.
   */
  async interruptOpen(videoId: number, revision: number, reason: string): Promise<void> {
    await this.deps.db
      .update(transcodeAttempts)
      .set({
        finishedAt: sql`greatest(${transcodeAttempts.startedAt}, now())`,
        outcome: "interrupted",
        error: reason,
      })
      .where(
        and(
          eq(transcodeAttempts.videoId, videoId),
          eq(transcodeAttempts.revision, revision),
          isNull(transcodeAttempts.outcome),
        ),
      );
  }

  /**
   * Whether this error report was applied before: its attempt already ended `error` at the very time it
   * names. A redelivered report (the reports queue retries a job whose consumer died after applying it)
   * is the same job, so the same attempt, worker and time; after an admin's retry it would otherwise find
   * the video pending again and fail it.
   */
  async errorAlreadyApplied(report: Extract<TranscodeReport, { type: "error" }>): Promise<boolean> {
    if (report.attempt === undefined || report.worker === undefined) return false;
    const [row] = await this.deps.db
      .select({ id: transcodeAttempts.id })
      .from(transcodeAttempts)
      .where(
        and(
          eq(transcodeAttempts.videoId, report.videoId),
          eq(transcodeAttempts.revision, report.revision),
          eq(transcodeAttempts.attempt, report.attempt),
          eq(transcodeAttempts.worker, report.worker),
          eq(transcodeAttempts.outcome, "error"),
          eq(transcodeAttempts.finishedAt, new Date(report.at)),
        ),
      )
      .limit(1);
    return row !== undefined;
  }

  private key(report: TranscodeReport, attempt: number, worker: string) {
    return { videoId: report.videoId, revision: report.revision, attempt, worker };
  }

  private readonly conflictTarget = [
    transcodeAttempts.videoId,
    transcodeAttempts.revision,
    transcodeAttempts.attempt,
    transcodeAttempts.worker,
  ];
}
