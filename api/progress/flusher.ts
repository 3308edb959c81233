import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { type ProgressEntry, ProgressStore, type TakenBatch } from "./store.ts";

/** Rows per INSERT: one statement, one parameter (a JSON array), well under any size limit. */
const ROWS_PER_STATEMENT = 5000;

export interface FlushStats {
  /** Distinct user-video entries taken out of Redis. */
  entries: number;
  /** Rows PostgreSQL inserted or updated (entries older than the stored row change nothing). */
  written: number;
  statements: number;
  durationMs: number;
}

export interface ProgressFlusherDeps {
  db: Database;
  redis: Redis;
  log: Logger;
  intervalSeconds: number;
  /** Called after every flush that took something (metrics, benchmarks). */
  onFlush?: (stats: FlushStats) => void;
}

/**
 * Moves coalesced heartbeats from Redis to PostgreSQL every `intervalSeconds`: one multi-row upsert
 * per batch, so PostgreSQL sees one write per user-video per flush however many heartbeats came.
 * Safe with several replicas flushing at once (each takes disjoint entries). What is lost in a crash
 * is bounded by Redis: at most one interval of heartbeats if Redis itself dies without persistence;
 * a replica dying mid-flush loses nothing, its batch is taken over once it is `staleMs` old. A flush
 * that failed (PostgreSQL away) keeps its batch and writes it with the next one, so a short outage
 * delays heartbeats by an interval or two, not by `staleMs`.
 */
export class ProgressFlusher {
  private readonly store: ProgressStore;
  private readonly id = randomUUID().slice(0, 8);
  private readonly staleMs: number;
  private timer: Timer | null = null;
  private running: Promise<FlushStats> | null = null;
  /** What a failed flush took out of Redis: still this replica's (in flight), written with the next. */
  private unwritten: TakenBatch | null = null;

  constructor(private readonly deps: ProgressFlusherDeps) {
    this.store = new ProgressStore(deps.redis);
    this.staleMs = Math.max(60_000, deps.intervalSeconds * 10_000);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return; // a slow flush is not queued up behind: the next tick takes it all
      this.flush().catch((error) => this.deps.log.error({ err: error }, "watch progress flush failed"));
    }, this.deps.intervalSeconds * 1000);
  }

  /** Graceful stop: no more timed flushes, then one last flush of whatever is pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      const stats = await this.flush();
      this.deps.log.info({ entries: stats.entries }, "watch progress flushed on shutdown");
    } catch (error) {
      this.deps.log.error({ err: error }, "watch progress flush on shutdown failed (left in Redis)");
    }
  }

  /** Flushes now; a flush already running in this process is awaited first, never overlapped. */
  async flush(): Promise<FlushStats> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.flushOnce();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private async flushOnce(): Promise<FlushStats> {
    const started = performance.now();
    const batch = withUnwritten(this.unwritten, await this.store.take(this.id, this.staleMs));
    this.unwritten = batch;
    let written = 0;
    let statements = 0;
    for (let from = 0; from < batch.entries.length; from += ROWS_PER_STATEMENT) {
      written += await this.upsert(batch.entries.slice(from, from + ROWS_PER_STATEMENT));
      statements++;
    }
    // Only now: a failure above leaves the batch in Redis (taken over after staleMs if this replica
    // dies) and in `unwritten`, which the next flush writes first.
    await this.store.done(batch);
    this.unwritten = null;
    const stats = {
      entries: batch.entries.length,
      written,
      statements,
      durationMs: performance.now() - started,
    };
    if (stats.entries > 0) {
      this.deps.log.debug(stats, "watch progress flushed");
      this.deps.onFlush?.(stats);
    }
    return stats;
  }

  /** One statement for the whole chunk; rows of users or videos deleted meanwhile are skipped. */
  private async upsert(entries: ProgressEntry[]): Promise<number> {
    const rows = JSON.stringify(
      entries.map((entry) => ({
        user_id: entry.userId,
        video_id: entry.videoId,
        position_seconds: entry.positionSeconds,
        sent_at_ms: entry.sentAtMs,
      })),
    );
    const result = await this.deps.db.execute(sql`
      insert into watch_progress (user_id, video_id, position_seconds, client_sent_at, updated_at)
      select e.user_id, e.video_id, e.position_seconds,
             timestamptz 'epoch' + e.sent_at_ms * interval '1 millisecond', now()
      from jsonb_to_recordset(${rows}::jsonb)
             as e(user_id integer, video_id integer, position_seconds real, sent_at_ms bigint)
      where exists (select 1 from users u where u.id = e.user_id)
        and exists (select 1 from videos v where v.id = e.video_id)
      on conflict (user_id, video_id) do update
        set position_seconds = excluded.position_seconds,
            client_sent_at = excluded.client_sent_at,
            updated_at = excluded.updated_at
        where excluded.client_sent_at > watch_progress.client_sent_at
      returning 1`);
    const list = Array.isArray(result) ? result : (result as { rows?: unknown[] }).rows;
    return list?.length ?? 0;
  }
}

/** A failed flush's batch and a new one as one: the newer heartbeat of a user-video wins, every key goes. */
function withUnwritten(unwritten: TakenBatch | null, taken: TakenBatch): TakenBatch {
  if (!unwritten) return taken;
  const newest = new Map<string, ProgressEntry>();
  for (const entry of [...unwritten.entries, ...taken.entries]) {
    const field = `${entry.userId}:${entry.videoId}`;
    const known = newest.get(field);
    if (!known || known.sentAtMs < entry.sentAtMs) newest.set(field, entry);
  }
  return { entries: [...newest.values()], keys: [...unwritten.keys, ...taken.keys] };
}
