// What the api leaves behind, swept every STORAGE_SWEEP_INTERVAL_SECONDS by every replica (deleting
// twice is harmless):
// - upload staging (the local driver's): this process's own that no upload writes any more, and
//   anyone's that nothing wrote to for STAGING_MAX_IDLE_SECONDS (an api killed mid-upload, a hung request);
// - fast-start trees their ladder replaced, once their `remove_after` has passed (both drivers);
// - with object storage, which has no atomic rename, every revision is written under its own prefix and
//   published by the database switch alone: replaced revisions once their grace period is over, and trees
//   no row points at (a killed or failed job's, a replaced revision's that never got published);
// - resumable (tus) uploads nothing wrote to for UPLOAD_EXPIRY, with their bytes;
// - sources no video names, older than STAGING_MAX_IDLE_SECONDS (an api killed between putting a source
//   in place and committing its video), unless an upload being finished has claimed the key.
import { and, inArray, isNotNull, isNull, lte, or } from "drizzle-orm";
import type { Logger } from "pino";
import { fastStartPrefixFor, outputPrefixFor } from "../../contract/media.ts";
import type { Database } from "../../db/client.ts";
import { retiredRevisions, videos } from "../../db/schema/index.ts";
import type { MediaStorage, Reclaimed } from "../../storage/index.ts";
import { PeriodicSweep } from "../../storage/periodic-sweep.ts";
import type { ApiReclaimedKind } from "../../storage/reclaimed-metrics.ts";
import type { Clock } from "../shared/clock.ts";

/** A revision's tree, or its fast-start tree beside it (contract/media.ts). */
const REVISION_KEY = /^videos\/(\d+)\/r(\d+)(-fast)?\//;

export interface SweepOutcome {
  /** Replaced revisions whose grace period ended. */
  retired: number;
  /** Trees of revisions no row published or is still making. */
  orphaned: number;
  /** Staging folders of uploads that will never finish. */
  uploads: number;
  /** Resumable uploads past UPLOAD_EXPIRY. */
  expiredUploads: number;
  /** Sources no video names. */
  orphanSources: number;
}

export class StorageSweeper {
  private readonly periodic: PeriodicSweep<SweepOutcome>;

  constructor(
    private readonly deps: {
      db: Database;
      storage: MediaStorage;
      clock: Clock;
      log: Logger;
      /**
       * Object storage: a replaced revision stays this long, and an unreferenced tree must be this old.
       * Null (the local driver): there are no trees to sweep.
       */
      treeGraceSeconds: number | null;
      /** Upload staging nothing wrote to for this long is abandoned. */
      stagingMaxIdleSeconds: number;
      onReclaimed?: (kind: ApiReclaimedKind, reclaimed: Reclaimed) => void;
      /** Removes the resumable uploads past their expiry (the tus store's sweep). */
      expiredUploads?: () => Promise<Reclaimed>;
      /** The source keys resumable uploads being finished have claimed (the tus store's markers). */
      claimedSources?: () => Promise<ReadonlySet<string>>;
    },
  ) {
    this.periodic = new PeriodicSweep(
      () => this.sweepOnce(),
      (error) => deps.log.error({ err: error }, "storage sweep failed"),
    );
  }

  /** One sweep now (one at a time: a sweep asked for while one runs gets that one's result). */
  sweep(): Promise<SweepOutcome> {
    return this.periodic.now();
  }

  /** Sweeps every `intervalSeconds` until stopped. */
  start(intervalSeconds: number): void {
    this.periodic.start(intervalSeconds * 1000);
  }

  /** Stops the timer and waits for a sweep in progress (it uses the database the runtime closes next). */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private async sweepOnce(): Promise<SweepOutcome> {
    const uploads = await this.deps.storage.sweepUploads(this.deps.stagingMaxIdleSeconds * 1000);
    this.deps.onReclaimed?.("upload_staging", uploads);
    const grace = this.deps.treeGraceSeconds;
    const retired = await this.sweepRetired(grace);
    this.deps.onReclaimed?.("retired_revision", retired);
    const orphaned = grace === null ? { items: 0, bytes: 0 } : await this.sweepOrphans(grace);
    this.deps.onReclaimed?.("orphan_tree", orphaned);
    const expired = (await this.deps.expiredUploads?.()) ?? { items: 0, bytes: 0 };
    this.deps.onReclaimed?.("expired_upload", expired);
    const sources = await this.sweepOrphanSources(this.deps.stagingMaxIdleSeconds);
    this.deps.onReclaimed?.("orphan_source", sources);
    const outcome = {
      retired: retired.items,
      orphaned: orphaned.items,
      uploads: uploads.items,
      expiredUploads: expired.items,
      orphanSources: sources.items,
    };
    const bytes = uploads.bytes + retired.bytes + orphaned.bytes + expired.bytes + sources.bytes;
    if (Object.values(outcome).some((items) => items > 0)) {
      this.deps.log.info({ ...outcome, bytes }, "storage sweep removed leftovers");
    }
    return outcome;
  }

  /** Retired trees whose time is up: their own `remove_after`, else (object storage) the grace period. */
  private async sweepRetired(graceSeconds: number | null): Promise<Reclaimed> {
    const now = this.deps.clock.now();
    const ownTime = and(isNotNull(retiredRevisions.removeAfter), lte(retiredRevisions.removeAfter, now));
    const due = await this.deps.db
      .select()
      .from(retiredRevisions)
      .where(
        graceSeconds === null
          ? ownTime
          : or(
              ownTime,
              and(
                isNull(retiredRevisions.removeAfter),
                lte(retiredRevisions.retiredAt, new Date(now.getTime() - graceSeconds * 1000)),
              ),
            ),
      );
    let bytes = 0;
    for (const row of due) {
      for await (const object of this.deps.storage.list(`${row.prefix}/`)) bytes += object.size;
      await this.deps.storage.deletePrefix(row.prefix);
    }
    if (due.length > 0) {
      await this.deps.db.delete(retiredRevisions).where(
        inArray(
          retiredRevisions.id,
          due.map((row) => row.id),
        ),
      );
    }
    return { items: due.length, bytes };
  }

  /**
   * Sources no video names and no finishing upload claims, once older than the grace period (which
   * spares a multipart upload between putting its source and inserting its video). Read in this order
   * (listing, claims, videos) so that a source a finishing upload moves in meanwhile is seen as claimed
   * or as its video's: the claim is recorded before the source appears, and dropped after the commit.
   */
  private async sweepOrphanSources(graceSeconds: number): Promise<Reclaimed> {
    const cutoff = this.deps.clock.now().getTime() - graceSeconds * 1000;
    const old: Array<{ key: string; size: number }> = [];
    for await (const object of this.deps.storage.list("sources/")) {
      if (object.lastModified <= cutoff) old.push(object);
    }
    if (old.length === 0) return { items: 0, bytes: 0 };
    const claimed = (await this.deps.claimedSources?.()) ?? new Set<string>();
    const named = await this.deps.db
      .select({ key: videos.sourceKey })
      .from(videos)
      .where(
        inArray(
          videos.sourceKey,
          old.map((object) => object.key),
        ),
      );
    const keep = new Set([...claimed, ...named.map((row) => row.key)]);
    const removed = { items: 0, bytes: 0 };
    for (const object of old) {
      if (keep.has(object.key)) continue;
      await this.deps.storage.deletePrefix(object.key);
      removed.items++;
      removed.bytes += object.size;
    }
    return removed;
  }

  /**
   * A revision's tree is kept while its row publishes it, is still making it (pending or processing),
   * or lists it as retired (its own timer); any other one goes once its newest object is older than the
   * grace period, which also spares an upload in flight that the database does not know of yet.
   */
  private async sweepOrphans(graceSeconds: number): Promise<Reclaimed> {
    const newest = new Map<string, number>();
    const sizes = new Map<string, number>();
    for await (const object of this.deps.storage.list("videos/")) {
      const match = REVISION_KEY.exec(object.key);
      if (!match) continue;
      const tree = `videos/${match[1]}/r${match[2]}${match[3] ?? ""}`;
      newest.set(tree, Math.max(newest.get(tree) ?? 0, object.lastModified));
      sizes.set(tree, (sizes.get(tree) ?? 0) + object.size);
    }
    if (newest.size === 0) return { items: 0, bytes: 0 };
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
      if (row.state === "pending" || row.state === "processing") {
        keep.add(outputPrefixFor(row.id, row.revision));
        keep.add(fastStartPrefixFor(row.id, row.revision));
      }
    }
    const cutoff = this.deps.clock.now().getTime() - graceSeconds * 1000;
    const removed = { items: 0, bytes: 0 };
    for (const [tree, lastModified] of newest) {
      if (keep.has(tree) || lastModified > cutoff) continue;
      await this.deps.storage.deletePrefix(tree);
      removed.items++;
      removed.bytes += sizes.get(tree) ?? 0;
    }
    return removed;
  }
}
