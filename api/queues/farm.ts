// The farm as the studio shows it: the transcoders online (their heartbeats in Redis) and those gone
// quiet, what each runs (with its video's title and latest progress tick), the transcode queue's depth
// per state, how many attempts ended lately, the failed jobs, and a Retry for each.
import type { Queue } from "bullmq";
import { inArray } from "drizzle-orm";
import type Redis from "ioredis";
import { progressChannel, progressKey, type TranscodeProgress } from "../../contract/progress.ts";
import { revisionOfJob, type TranscodeJob } from "../../contract/transcode-jobs.ts";
import {
  HEARTBEAT_FORGET_MS,
  HEARTBEAT_STALE_MS,
  readHeartbeats,
  type TranscoderHeartbeat,
} from "../../contract/transcoder-heartbeats.ts";
import type { Database } from "../../db/client.ts";
import { type ProcessingState, videos } from "../../db/schema/index.ts";
import { ApiError, notFound } from "../http/errors.ts";
import type { AuditActor } from "../shared/audit.ts";
import type { Clock } from "../shared/clock.ts";
import { readableFailure } from "../shared/job-failures.ts";

/** Failed jobs listed at most, the latest first. */
export const MAX_FAILED_LISTED = 100;

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface AttemptCounts {
  completed: number;
  failed: number;
}

export interface FailedJob {
  jobId: string;
  videoId: number | null;
  revision: number | null;
  attemptsMade: number;
  error: string;
  failedAt: Date | null;
  /** The video's title and state now; null when the job is not a video's (a deleted one's is removed). */
  title: string | null;
  videoState: ProcessingState | null;
  /** False when the video's file was replaced since: retrying this job would transcode an old file. */
  current: boolean;
}

/** What a transcoder's heartbeat says it runs, with the video's title now and its latest tick. */
export interface RunningJob {
  job: TranscoderHeartbeat["jobs"][number];
  /** Null when the video was deleted while its job ran. */
  title: string | null;
  /** The latest tick of this job's revision; null before the first one. */
  progress: TranscodeProgress | null;
}

/** A transcoder Redis remembers: its heartbeat, and its ages by Redis's clock (never a host's). */
export interface KnownTranscoder {
  heartbeat: TranscoderHeartbeat;
  jobs: RunningJob[];
  /** Redis's time of its latest heartbeat. */
  lastSeenAt: Date;
  /** How long ago that was, by Redis's clock. */
  silentMs: number;
  /**
   * Silent past HEARTBEAT_STALE_MS (crashed, cut off, or its host is): listed as such until forgotten.
   * A graceful stop removes the heartbeat at once, so only a transcoder that died without a word is.
   */
  quiet: boolean;
  /**
   * By its own clock up to its latest beat, then by Redis's since (no two clocks are compared); a quiet
   * one's ends at its last beat.
   */
  uptimeMs: number;
}

export interface FarmDeps {
  db: Database;
  redis: Redis;
  queue: Queue<TranscodeJob, unknown>;
  clock: Clock;
  /** Attempts that ended since then, by outcome (the job history, api/videos/attempts.ts). */
  attemptsEndedSince(since: Date): Promise<AttemptCounts>;
  /** Retries a video in `error` (the admin video route's retry: back to pending, job retried). */
  retryVideo(actor: AuditActor, videoId: number): Promise<unknown>;
}

export class FarmService {
  constructor(private readonly deps: FarmDeps) {}

  /**
   * Every transcoder Redis remembers (the read script forgets those silent past HEARTBEAT_FORGET_MS),
   * online or gone quiet, by name, with what each runs.
   */
  async transcoders(): Promise<KnownTranscoder[]> {
    const { nowMs, heard } = await readHeartbeats(this.deps.redis, HEARTBEAT_FORGET_MS);
    const known: Array<Omit<KnownTranscoder, "jobs">> = [];
    for (const { seenMs, heartbeat } of heard) {
      const upToBeat = heartbeat.sentAt - Date.parse(heartbeat.startedAt);
      const silentMs = Math.max(0, nowMs - seenMs);
      const quiet = silentMs > HEARTBEAT_STALE_MS;
      known.push({
        heartbeat,
        lastSeenAt: new Date(seenMs),
        silentMs,
        quiet,
        uptimeMs: Math.max(0, (Number.isFinite(upToBeat) ? upToBeat : 0) + (quiet ? 0 : silentMs)),
      });
    }
    const running = await this.runningJobs(known.flatMap((transcoder) => transcoder.heartbeat.jobs));
    return known
      .map((transcoder) => ({ ...transcoder, jobs: transcoder.heartbeat.jobs.map(running) }))
      .sort((a, b) => a.heartbeat.name.localeCompare(b.heartbeat.name));
  }

  /** Reads the heartbeats' videos' titles (PostgreSQL) and latest ticks (Redis) at once. */
  private async runningJobs(
    jobs: TranscoderHeartbeat["jobs"],
  ): Promise<(job: TranscoderHeartbeat["jobs"][number]) => RunningJob> {
    const ids = [...new Set(jobs.map((job) => job.videoId))];
    const [rows, ticks] =
      ids.length === 0
        ? [[], []]
        : await Promise.all([
            this.deps.db
              .select({ id: videos.id, title: videos.title })
              .from(videos)
              .where(inArray(videos.id, ids)),
            this.deps.redis.mget(ids.map(progressKey)),
          ]);
    const titles = new Map(rows.map((row) => [row.id, row.title]));
    const latest = new Map<number, TranscodeProgress>();
    ticks.forEach((value, index) => {
      const tick = value ? progressChannel.decode(value) : null;
      if (tick?.ok) latest.set(ids[index]!, tick.value);
    });
    return (job) => {
      const tick = latest.get(job.videoId);
      // A tick of another revision is a replaced file's (or the next one's), and one of another run is
      // a crashed or stalled run's last: neither is this job's progress. Older transcoders' ticks carry
      // no run, and go by the revision alone.
      const ours =
        tick?.revision === job.revision && (tick.attempt === undefined || tick.attempt === job.attempt);
      const progress = tick && ours ? tick : null;
      return { job, title: titles.get(job.videoId) ?? null, progress };
    };
  }

  async depth(): Promise<QueueDepth> {
    const counts = await this.deps.queue.getJobCounts(
      "waiting",
      "prioritized",
      "active",
      "delayed",
      "failed",
    );
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
    };
  }

  /** Attempts that ended in the last `minutes` minutes. */
  throughput(minutes: number): Promise<AttemptCounts> {
    return this.deps.attemptsEndedSince(new Date(this.deps.clock.now().getTime() - minutes * 60_000));
  }

  /**
   * The failed jobs the queue keeps, the latest first, each with its video's state now. A job whose
   * video was deleted, or whose file was replaced since, is removed instead of listed: nothing can
   * retry it (the video's job history keeps its runs). A delete or a replacement removes its job
   * itself, but not one a transcoder was running then: that run fails on the missing source after.
   */
  async failed(): Promise<FailedJob[]> {
    const jobs = (await this.deps.queue.getFailed(0, MAX_FAILED_LISTED - 1)).filter((job) => job?.id);
    const refs = jobs.map((job) => revisionOfJob(job.id!));
    const ids = [...new Set(refs.flatMap((ref) => (ref ? [ref.videoId] : [])))];
    const rows =
      ids.length === 0
        ? []
        : await this.deps.db
            .select({
              id: videos.id,
              title: videos.title,
              state: videos.processingState,
              revision: videos.revision,
            })
            .from(videos)
            .where(inArray(videos.id, ids));
    const byId = new Map(rows.map((row) => [row.id, row]));
    const orphaned = (index: number) => {
      const ref = refs[index];
      if (!ref) return false;
      const video = byId.get(ref.videoId);
      return video === undefined || video.revision > ref.revision;
    };
    await Promise.all(jobs.map((job, index) => (orphaned(index) ? job.remove().catch(() => {}) : undefined)));
    return jobs
      .flatMap((job, index) => (orphaned(index) ? [] : [{ job, index }]))
      .map(({ job, index }) => {
        const ref = refs[index];
        const video = ref ? byId.get(ref.videoId) : undefined;
        return {
          jobId: job.id!,
          videoId: ref?.videoId ?? null,
          revision: ref?.revision ?? null,
          attemptsMade: job.attemptsMade,
          error: readableFailure(job.failedReason),
          failedAt: job.finishedOn ? new Date(job.finishedOn) : null,
          title: video?.title ?? null,
          videoState: video?.state ?? null,
          current: video !== undefined && video.revision === ref?.revision,
        };
      })
      .sort((a, b) => (b.failedAt?.getTime() ?? 0) - (a.failedAt?.getTime() ?? 0));
  }

  /**
   * Retries a failed job: its video goes back to `pending` and the job runs again with a fresh set of
   * attempts (the video retry). 404 for no such failed job, or a video deleted meanwhile (its job is
   * removed then); 409 when the video's file was replaced since, or the video is not in `error`.
   */
  async retry(actor: AuditActor, jobId: string): Promise<{ videoId: number; revision: number }> {
    const ref = revisionOfJob(jobId);
    const job = ref ? await this.deps.queue.getJob(jobId) : undefined;
    if (!ref || !job) throw notFound("No transcode job of this id.");
    const state = await job.getState();
    if (state !== "failed") {
      throw new ApiError(409, { detail: `The job is \`${state}\`, not failed.`, reason: "not_failed" });
    }
    const [video] = await this.deps.db
      .select({ revision: videos.revision, state: videos.processingState })
      .from(videos)
      .where(inArray(videos.id, [ref.videoId]));
    if (!video) {
      await job.remove().catch(() => {});
      throw notFound("The video of this job was deleted; the job is removed.");
    }
    if (video.revision !== ref.revision) {
      // Nothing will ever retry a replaced file's job: it leaves the failed list.
      if (video.revision > ref.revision) await job.remove().catch(() => {});
      throw new ApiError(409, {
        detail: `The video's file was replaced since (revision ${video.revision} now): this job transcoded an old file, and is removed.`,
        reason: "stale_revision",
      });
    }
    await this.deps.retryVideo(actor, ref.videoId);
    return ref;
  }
}
