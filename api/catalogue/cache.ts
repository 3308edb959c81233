import { videoChanges } from "../../contract/video-changes.ts";
import type { EventBus } from "../shared/event-bus.ts";

/** How long a user-independent answer is reused; invalidation on video changes makes it a backstop. */
export const CATALOGUE_CACHE_TTL_MS = 5000;

/**
 * Short-lived, per-replica memory of the user-independent catalogue answers. Any message on
 * `vf:video-state` (a creation, a state change, an edit, a delete, from whichever replica) drops everything, so the
 * TTL only bounds how stale an answer can be if a message was missed. It serves nothing while its
 * subscription is down: without invalidations, the cache could not be trusted.
 *
 * Each read first asks the event bus whether it has caught up (a PING on the subscriber connection:
 * Redis answers in order, so every announcement published before the request arrived has been
 * handled when the PONG comes back). A client that
 * edits a video and reads the list at once always sees its edit (one Redis round trip, no database).
 */
export class CatalogueCache {
  // Promises, not values: concurrent misses for one key share one query. Invalidation clears the map,
  // so a query that was in flight when the message came is never kept.
  private readonly entries = new Map<string, { expiresAt: number; value: Promise<unknown> }>();
  private bus: EventBus | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts dropping entries on every video change announced on the bus. */
  listen(bus: EventBus): void {
    this.bus = bus;
    bus.on(videoChanges, () => this.invalidate());
    bus.onReconnect(() => this.invalidate());
  }

  invalidate(): void {
    this.entries.clear();
  }

  /** The cached answer for `key`, or `load()`'s (kept for the TTL when the cache is live). */
  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!(await this.caughtUp())) return load();
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { expiresAt: now + this.ttlMs, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    // Search terms make keys unbounded: forget the oldest beyond the cap.
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }

  /** True once every announcement made before the call has been applied; false when that is unknown. */
  private caughtUp(): Promise<boolean> {
    return this.bus ? this.bus.caughtUp(videoChanges) : Promise.resolve(false);
  }

  get size(): number {
    return this.entries.size;
  }
}
