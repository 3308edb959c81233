// How a transcoder reads a video's source as a local file. On object storage every piece of a film (and
// the film's own job, on each of its runs) needs the whole source: downloaded once per piece, a 2-hour
// film of 120 pieces on 8 replicas would come out of the bucket 120 times instead of 8. The cache keeps
// the copies this replica downloaded, one per source, shared by every job here that reads it: a
// download in progress is joined, not repeated; a copy goes when nobody here held it for a while, when
// the cache is over its size (least recently used first, never one in use), when the job that finished
// the film lets it go, or when the disk runs low. Sources are immutable under their keys (a new upload
// gets a new key), and a copy is still checked against the object's size and time on every hold.
// Byte ranges instead would need a demuxer that seeks over HTTP, and FFmpeg may read only local files
// here (source-input.ts).
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { MediaStorage, TransferProgress } from "../storage/index.ts";
import { silentLog, type TranscodeLog } from "./log.ts";

/** The cache's folder under a transcoder's scratch (its staging root: the sweeps ask `owns`). */
export const SOURCE_CACHE_FOLDER = "source-cache";

export interface HoldOptions {
  /** Where a reader without a cache downloads to (the caller's own folder, removed by the caller). */
  dir: string;
  onProgress?: TransferProgress;
  /** Stops waiting (a lost lock, a shutdown); a shared download goes on for the others. */
  signal?: AbortSignal;
  log?: TranscodeLog;
}

/** A source as a local file, readable until released. */
export interface HeldSource {
  readonly path: string;
  /**
   * Lets the file go. `keep: false` when this job was the last to need it here (the film is published,
   * or its retry may run anywhere): the copy goes now unless another job holds it.
   */
  release(options?: { keep: boolean }): Promise<void>;
}

export interface SourceReader {
  hold(key: string, options: HoldOptions): Promise<HeldSource>;
  /** Whether `path` is the reader's own folder: the staging sweep leaves it alone. */
  owns(path: string): boolean;
  /** Drops every copy nobody holds (the disk runs low); the bytes freed. */
  dropIdle(): Promise<number>;
  close(): Promise<void>;
}

/** Where a source came from, for the metrics: this replica's copy, or the storage. */
export type SourceReadFrom = "cache" | "storage";

export interface SourceCacheOptions {
  storage: MediaStorage;
  /** The cache's own folder (emptied when it opens: no index survives a restart). */
  dir: string;
  /** Bytes of copies kept; a copy bigger than this is kept only while it is held. */
  maxBytes: number;
  /** A copy nobody held for this long goes. */
  idleMs: number;
  /** Each download once complete ("storage", its bytes), and each hold that read a copy ("cache", 0). */
  onRead?: (from: SourceReadFrom, bytes: number) => void;
  /** The bytes the cache keeps on disk now, after every change. */
  onSize?: (bytes: number) => void;
  now?: () => number;
}

/** Local storage (FFmpeg reads the file where it is) or no cache: each hold fetches, as before. */
export function directSourceReader(
  storage: MediaStorage,
  onRead?: SourceCacheOptions["onRead"],
): SourceReader {
  return {
    async hold(key, options) {
      const startedAt = performance.now();
      const path = await storage.fetchToLocal(key, options.dir, options.onProgress);
      if (storage.kind === "s3") {
        const bytes = Bun.file(path).size;
        onRead?.("storage", bytes);
        (options.log ?? silentLog).info(
          { key, bytes, seconds: secondsSince(startedAt) },
          "source downloaded",
        );
      }
      return { path, release: async () => {} };
    },
    owns: () => false,
    dropIdle: async () => 0,
    close: async () => {},
  };
}

interface Copy {
  readonly key: string;
  /** The object's size and time when it was downloaded: a different object under the key is not it. */
  readonly version: string;
  readonly folder: string;
  /** Settles with the local path once the download is complete (or with its failure). */
  readonly ready: Promise<string>;
  /** Progress listeners of everyone waiting on the download. */
  readonly listeners: Set<TransferProgress>;
  bytes: number;
  holders: number;
  lastUsed: number;
  /** No longer found by key (replaced under it, evicted while held): removed once nobody holds it. */
  retired: boolean;
}

export class SourceCache implements SourceReader {
  private readonly copies = new Map<string, Copy>();
  /** Retired copies still held. */
  private readonly leaving = new Set<Copy>();
  private readonly now: () => number;
  private readonly timer: ReturnType<typeof setInterval>;
  private sequence = 0;
  private opened: Promise<void>;

  constructor(private readonly options: SourceCacheOptions) {
    this.now = options.now ?? Date.now;
    // A folder that cannot be emptied fails the downloads into it, each with its own error.
    this.opened = rm(options.dir, { recursive: true, force: true }).catch(() => {});
    this.timer = setInterval(
      () => void this.dropExpired().catch(() => {}),
      Math.max(1000, Math.min(options.idleMs / 2, 60_000)),
    );
    this.timer.unref();
  }

  owns(path: string): boolean {
    return path === this.options.dir || path.startsWith(`${this.options.dir}/`);
  }

  /** The bytes of the copies on disk now (held ones included). */
  get bytes(): number {
    let total = 0;
    for (const copy of [...this.copies.values(), ...this.leaving]) total += copy.bytes;
    return total;
  }

  async hold(key: string, options: HoldOptions): Promise<HeldSource> {
    await this.opened;
    const log = options.log ?? silentLog;
    const info = await this.options.storage.stat(key);
    if (!info) throw new Error(`no object at ${key}`);
    const version = `${info.size}:${info.lastModified}`;
    let copy = this.copies.get(key);
    if (copy && copy.version !== version) {
      log.warn({ key }, "the source changed under its key: downloading it again");
      // No longer found by key; its holders keep reading it until they let go.
      void this.remove(copy).catch(() => {});
      copy = undefined;
    }
    options.signal?.throwIfAborted();
    const from: SourceReadFrom = copy ? "cache" : "storage";
    if (!copy) copy = this.download(key, version, info.size, log);
    copy.holders++;
    copy.lastUsed = this.now();
    if (options.onProgress) copy.listeners.add(options.onProgress);
    try {
      const path = await waitFor(copy.ready, options.signal);
      // A download is counted once, when it is complete (its starter may have stopped waiting).
      if (from === "cache") {
        this.options.onRead?.("cache", 0);
        log.info({ key, bytes: copy.bytes }, "source read from this replica's copy");
      }
      options.onProgress?.(copy.bytes, copy.bytes);
      const held = copy;
      let released = false;
      return {
        path,
        release: async ({ keep } = { keep: true }) => {
          if (released) return;
          released = true;
          await this.letGo(held, keep);
        },
      };
    } catch (error) {
      await this.letGo(copy, true);
      throw error;
    } finally {
      if (options.onProgress) copy.listeners.delete(options.onProgress);
    }
  }

  async dropIdle(): Promise<number> {
    let freed = 0;
    for (const copy of [...this.copies.values()]) {
      // A download in progress goes on for whoever asks next (its file is not freed by unlinking it).
      if (copy.holders > 0 || copy.bytes === 0) continue;
      freed += copy.bytes;
      await this.remove(copy);
    }
    return freed;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  private download(key: string, version: string, size: number, log: TranscodeLog): Copy {
    const folder = join(this.options.dir, String(++this.sequence));
    const listeners = new Set<TransferProgress>();
    const startedAt = performance.now();
    const fetched = Promise.withResolvers<string>();
    const copy: Copy = {
      key,
      version,
      folder,
      ready: fetched.promise,
      listeners,
      bytes: 0,
      holders: 0,
      lastUsed: this.now(),
      retired: false,
    };
    this.copies.set(key, copy);
    void (async () => {
      try {
        await mkdir(folder, { recursive: true });
        const path = await this.options.storage.fetchToLocal(key, folder, (done, total) => {
          for (const listener of listeners) {
            try {
              listener(done, total);
            } catch {
              // One waiter's progress report never breaks the download the others wait on.
            }
          }
        });
        // Counted before any holder goes on (a download in progress is not yet: the size bounds the
        // copies kept, while TRANSCODER_MIN_FREE_MB guards the disk).
        copy.bytes = size;
        this.options.onSize?.(this.bytes);
        this.options.onRead?.("storage", size);
        log.info({ key, bytes: size, seconds: secondsSince(startedAt) }, "source downloaded");
        // Trimmed before anyone goes on: room is made (this copy is held) before it is used.
        await this.trim().catch((error) => log.warn({ err: error }, "the source cache was not trimmed"));
        fetched.resolve(path);
      } catch (error) {
        // Nobody gets a half copy: the next hold downloads again.
        fetched.reject(error);
        await this.remove(copy).catch((cleanup) =>
          log.warn({ err: cleanup, key }, "a failed download's folder was not removed"),
        );
      }
    })();
    // Every holder waits on it; this only keeps a download nobody waits for any more from going unheard.
    fetched.promise.catch(() => {});
    return copy;
  }

  private async letGo(copy: Copy, keep: boolean): Promise<void> {
    copy.holders = Math.max(0, copy.holders - 1);
    copy.lastUsed = this.now();
    if (copy.holders > 0) return;
    if (copy.retired || !keep) await this.remove(copy);
    else await this.trim();
  }

  /** Over the size: the least recently used copies nobody holds go (a held one stays until released). */
  private async trim(): Promise<void> {
    const bySize = () => this.bytes > this.options.maxBytes;
    const idle = [...this.copies.values()]
      .filter((copy) => copy.holders === 0 && copy.bytes > 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const copy of idle) {
      if (!bySize()) return;
      await this.remove(copy);
    }
  }

  private async dropExpired(): Promise<void> {
    const before = this.now() - this.options.idleMs;
    for (const copy of [...this.copies.values()]) {
      if (copy.holders === 0 && copy.bytes > 0 && copy.lastUsed <= before) await this.remove(copy);
    }
  }

  private async remove(copy: Copy): Promise<void> {
    if (this.copies.get(copy.key) === copy) this.copies.delete(copy.key);
    copy.retired = true;
    if (copy.holders > 0) {
      this.leaving.add(copy);
      return;
    }
    this.leaving.delete(copy);
    copy.bytes = 0;
    await rm(copy.folder, { recursive: true, force: true });
    this.options.onSize?.(this.bytes);
  }
}

/** The reader a transcoder uses: the cache on object storage when it has room, else direct reads. */
export function openSourceReader(options: SourceCacheOptions): SourceReader {
  if (options.storage.kind !== "s3" || options.maxBytes <= 0)
    return directSourceReader(options.storage, options.onRead);
  return new SourceCache(options);
}

const secondsSince = (startedAt: number) => Number(((performance.now() - startedAt) / 1000).toFixed(2));

function waitFor<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
