// Object storage has no atomic rename, so every revision is written under its own prefix and published
// by the database switch alone. What that leaves behind is this sweeper's: replaced revisions once their
// grace period is over, and trees no row points at (a killed or failed job's, a replaced revision's
// that never got published). Every api replica runs it; deleting twice is harmless.
import { inArray, lte } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { retiredRevisions, videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import type { Clock } from "../shared/clock.ts";

const REVISION_KEY = /^videos\/(\d+)\/r(\d+)\//;

export interface SweepOutcome {
  /** Replaced revisions whose grace period ended. */
  retired: number;
  /** Trees of revisions no row published or is still making. */
  orphaned: number;
}

export class StorageSweeper {
  constructor(
    private readonly deps: {
      db: Database;
      storage: MediaStorage;
      clock: Clock;
      log: Logger;
      /** A replaced revision stays this long; an unreferenced tree must be at least this old. */
      graceSeconds: number;
    },
  ) {}

  async sweep(): Promise<SweepOutcome> {
    const retired = await this.sweepRetired();
    const orphaned = await this.sweepOrphans();
    if (retired + orphaned > 0) this.deps.log.info({ retired, orphaned }, "storage sweep removed trees");
    return { retired, orphaned };
  }

  private async sweepRetired(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.graceSeconds * 1000);
    const due = await this.deps.db
      .select()
      .from(retiredRevisions)
      .where(lte(retiredRevisions.retiredAt, cutoff));
    for (const row of due) await this.deps.storage.deletePrefix(row.prefix);
    if (due.length > 0) {
      await this.deps.db.delete(retiredRevisions).where(
        inArray(
          retiredRevisions.id,
          due.map((row) => row.id),
        ),
      );
    }
    return due.length;
  }

  /**
   * A revision's tree is kept while its row publishes it, is still making it (pending or processing),
   * or lists it as retired (its own timer); any other one goes once its newest object is older than the
   * grace period, which also spares an upload in flight that the database does not know of yet.
   */
  private async sweepOrphans(): Promise<number> {
    const newest = new Map<string, number>();
    for await (const object of this.deps.storage.list("videos/")) {
      const match = REVISION_KEY.exec(object.key);
      if (!match) continue;
      const tree = `videos/${match[1]}/r${match[2]}`;
      newest.set(tree, Math.max(newest.get(tree) ?? 0, object.lastModified));
    }
    if (newest.size === 0) return 0;
    const ids = [...new Set([...newest.keys()].map((tree) => Number(tree.split("/")[1])))];
    const rows = await this.deps.db
      .select({
        id: videos.id,
        revision: videos.revision,
        state: videos.processingState,
        publishedPrefix: videos.publishedPrefix,
      })
      .from(videos)
      .where(inArray(videos.id, ids));
    const retired = await this.deps.db
      .select({ prefix: retiredRevisions.prefix })
      .from(retiredRevisions)
      .where(inArray(retiredRevisions.videoId, ids));
    const keep = new Set<string>(retired.map((row) => row.prefix));
    for (const row of rows) {
      if (row.publishedPrefix) keep.add(row.publishedPrefix);
      if (row.state === "pending" || row.state === "processing")
        keep.add(`videos/${row.id}/r${row.revision}`);
    }
    const cutoff = this.deps.clock.now().getTime() - this.deps.graceSeconds * 1000;
    let removed = 0;
    for (const [tree, lastModified] of newest) {
      if (keep.has(tree) || lastModified > cutoff) continue;
      await this.deps.storage.deletePrefix(tree);
      removed++;
    }
    return removed;
  }
}
