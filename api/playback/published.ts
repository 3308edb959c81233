import { eq } from "drizzle-orm";
import { FAST_START_SUFFIX, isFastStartPrefix } from "../../contract/media.ts";
import { videoChanges } from "../../contract/video-changes.ts";
import type { Database } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import type { EventBus } from "../shared/event-bus.ts";
import { nominalHeight } from "../shared/renditions.ts";

/** What playback needs to know of a listed video: where its published tree is and which rungs it has. */
export interface PublishedVideo {
  id: number;
  revision: number;
  /**
   * What the `v` of the tree's URLs says: the revision (`3`), or `3-fast` for its fast-start tree, so a
   * player that holds a fast-start playlist keeps getting fast-start files after the ladder replaced it.
   */
  version: string;
  /** Storage prefix of the published tree, e.g. `videos/12/r3` (or `videos/12/r3-fast`). */
  prefix: string;
  /** A fast-start tree: its media playlist still grows, so playlists are cached for a second only. */
  live: boolean;
  /** Rung names with their nominal height (`720p` → 720), lowest first. */
  rungs: ReadonlyArray<{ name: string; height: number }>;
}

interface Entry {
  value: PublishedVideo | null;
  expiresAtMs: number;
}

const MAX_ENTRIES = 10_000;
/** How long an id → published tree answer is trusted (announced changes also drop it at once). */
export const PUBLISHED_CACHE_TTL_MS = 5_000;

/**
 * id → published tree, remembered for a few seconds so that a segment request costs a Map lookup instead
 * of a query. Entries are dropped early when a state change for the video is published on
 * the event bus (a new revision went live, or it was deleted), and misses for the same id share one
 * query. Unlisted videos (no published revision) are remembered as null, briefly too.
 */
export class PublishedVideos {
  private readonly entries = new Map<number, Entry>();
  private readonly loading = new Map<number, Promise<PublishedVideo | null>>();
  private stopListening: (() => void) | null = null;

  constructor(private readonly deps: { db: Database; ttlMs: number; now?: () => number }) {}

  /** Drops a video's entry as soon as a change of it (a new revision live, a delete) is announced. */
  listen(bus: EventBus): void {
    this.stopListening = bus.on(videoChanges, (change) => {
      // A category's edit changes no published tree (and its id is not a video's).
      if (change.type !== "category.updated") this.forget(change.id);
    });
  }

  close(): void {
    this.stopListening?.();
    this.stopListening = null;
  }

  forget(id: number): void {
    this.entries.delete(id);
  }

  /** The cached answer when there is a fresh one (synchronous), else undefined. */
  cached(id: number): PublishedVideo | null | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAtMs > this.now()) return entry.value;
    this.entries.delete(id);
    return undefined;
  }

  get(id: number): PublishedVideo | null | Promise<PublishedVideo | null> {
    const cached = this.cached(id);
    if (cached !== undefined) return cached;
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private async load(id: number): Promise<PublishedVideo | null> {
    const [row] = await this.deps.db
      .select({
        revision: videos.publishedRevision,
        prefix: videos.publishedPrefix,
        renditions: videos.renditions,
      })
      .from(videos)
      .where(eq(videos.id, id));
    const value: PublishedVideo | null =
      row && row.revision !== null && row.prefix !== null
        ? {
            id,
            revision: row.revision,
            version: isFastStartPrefix(row.prefix)
              ? `${row.revision}${FAST_START_SUFFIX}`
              : String(row.revision),
            prefix: row.prefix,
            live: isFastStartPrefix(row.prefix),
            rungs: row.renditions
              .map((rendition) => ({ name: rendition.name, height: nominalHeight(rendition) }))
              .sort((a, b) => a.height - b.height),
          }
        : null;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { value, expiresAtMs: this.now() + this.deps.ttlMs });
    return value;
  }
}

/**
 * The rung a player asked for, or the nearest lower one (a 720p source asked for `1080p` gets 720p), or
 * the lowest when none is lower. Null only for a video without rungs.
 */
export function resolveRung(video: PublishedVideo, requested: string): string | null {
  const exact = video.rungs.find((rung) => rung.name === requested);
  if (exact) return exact.name;
  const height = Number.parseInt(requested, 10);
  let best: string | null = null;
  for (const rung of video.rungs) if (rung.height <= height) best = rung.name;
  return best ?? video.rungs[0]?.name ?? null;
}
