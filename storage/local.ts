import { randomUUID } from "node:crypto";
import { copyFile, type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { BunFile } from "bun";
import {
  type AppendableObjects,
  assertSafeKey,
  type MediaDelivery,
  type MediaStorage,
  OffsetMismatchError,
  type Reclaimed,
  type StagingEntry,
  type StoredObject,
  UploadTooLargeError,
} from "./index.ts";
import {
  createStaging,
  discardStaging,
  isUploadStaging,
  stagingPath,
  sweepStaging,
  UPLOAD_LABEL,
} from "./staging.ts";

const STAGING = ".staging";

/** write(2) may write less than asked (a disk filling up does): loop until the chunk is all out. */
async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    if (bytesWritten === 0) throw new Error(`write to ${handle.fd} made no progress`);
    offset += bytesWritten;
  }
}

/**
 * MediaStorage on a local directory (a shared volume in compose). Atomicity comes from rename(2) within
 * one file system: staging lives under the root itself for that reason.
 */
export class LocalMediaStorage implements MediaStorage {
  readonly kind = "local" as const;
  readonly root: string;
  /** Names this process's uploads in their staging label, so its sweep knows which are its own. */
  private readonly owner = randomUUID().slice(0, 8);
  /** Staging directories of the uploads this process is writing now. */
  private readonly uploading = new Set<string>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  readonly appendable: AppendableObjects = {
    append: async (key, body, { offset, maxBytes }) => {
      const path = this.pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, "a");
      let written = 0;
      try {
        const start = (await handle.stat()).size;
        if (start !== offset) throw new OffsetMismatchError(offset, start);
        try {
          for await (const chunk of body) {
            written += chunk.byteLength;
            if (written > maxBytes) throw new UploadTooLargeError(maxBytes);
            await writeFully(handle, chunk);
          }
          // On disk before the new offset is reported: HEAD may promise these bytes after a crash.
          await handle.datasync();
        } catch (error) {
          await handle.truncate(offset);
          throw error;
        }
        return offset + written;
      } finally {
        await handle.close();
      }
    },
    rename: async (from, to) => {
      const target = this.pathOf(to);
      await mkdir(dirname(target), { recursive: true });
      await rename(this.pathOf(from), target);
    },
  };

  private get stagingRoot(): string {
    return join(this.root, STAGING);
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, key);
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, options: { maxBytes: number }) {
    const target = this.pathOf(key);
    // Registered before it exists, so a sweep running meanwhile never takes it for a leftover.
    const staging = stagingPath(this.stagingRoot, `${UPLOAD_LABEL}-${this.owner}`);
    this.uploading.add(staging);
    const temp = join(staging, "object");
    let bytes = 0;
    try {
      await mkdir(staging, { recursive: true });
      // Every write is awaited through one file handle, so a full disk (ENOSPC, EDQUOT) or an I/O error
      // rejects here, where the caller sees it, instead of as an unhandled rejection.
      const handle = await open(temp, "wx");
      try {
        for await (const chunk of body) {
          bytes += chunk.byteLength;
          if (bytes > options.maxBytes) throw new UploadTooLargeError(options.maxBytes);
          await writeFully(handle, chunk);
        }
      } finally {
        await handle.close();
      }
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
      return { bytes };
    } finally {
      await rm(staging, { recursive: true, force: true });
      this.uploading.delete(staging);
    }
  }

  /** The object's path on this file system (local driver only: tools that read media in place). */
  localPath(key: string): string {
    return this.pathOf(key);
  }

  async stat(key: string): Promise<{ size: number; lastModified: number } | null> {
    const info = await stat(this.pathOf(key)).catch(() => null);
    return info?.isFile() ? { size: info.size, lastModified: info.mtimeMs } : null;
  }

  /** Every process shares this file system: FFmpeg reads the object where it is, nothing is copied. */
  async fetchToLocal(key: string): Promise<string> {
    if (!(await this.stat(key))) throw new Error(`no object at ${key}`);
    return this.pathOf(key);
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const folder = prefix.replace(/\/$/, "");
    const base = folder === "" ? this.root : this.pathOf(folder);
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    const files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.root, join(entry.parentPath, entry.name)))
      .filter((key) => !key.startsWith(`${STAGING}/`))
      .sort();
    for (const key of files) {
      const info = await stat(join(this.root, key)).catch(() => null);
      if (info) yield { key, size: info.size, lastModified: info.mtimeMs };
    }
  }

  readStream(key: string): AsyncIterable<Uint8Array> {
    return Bun.file(this.pathOf(key)).stream();
  }

  async readText(key: string): Promise<string | null> {
    const file = await this.file(key);
    return file ? file.text() : null;
  }

  /** Local files are sent by the api or the edge, never by URL. */
  presign(): null {
    return null;
  }

  async deliver(key: string): Promise<MediaDelivery | null> {
    const file = await this.file(key);
    return file ? { kind: "file", file } : null;
  }

  createStagingDir(label: string): Promise<string> {
    return createStaging(this.stagingRoot, label);
  }

  discardStaging(label: string): Promise<void> {
    return discardStaging(this.stagingRoot, label);
  }

  async publishDirectory(stagingDir: string, prefix: string): Promise<void> {
    // Same file system as the staging directory: one rename publishes the whole tree.
    const target = this.pathOf(prefix);
    await mkdir(dirname(target), { recursive: true });
    // A retry may publish a prefix that already exists: move the old tree aside, then swap.
    const displaced = join(this.root, STAGING, `displaced-${randomUUID()}`);
    const existed = await rename(target, displaced).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw error;
      },
    );
    await rename(stagingDir, target);
    if (existed) await rm(displaced, { recursive: true, force: true });
  }

  async putFile(localPath: string, key: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Copied beside its final name, then renamed over it: readers never see a partial file. The dot
    // name is no storage key (assertSafeKey), so nothing ever serves it.
    const partial = join(dirname(target), `.${basename(target)}.${randomUUID()}.part`);
    try {
      await copyFile(localPath, partial);
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathOf(prefix), { recursive: true, force: true });
  }

  /** The object for sendfile (local driver only), or null when it is missing or not a regular file. */
  async file(key: string): Promise<BunFile | null> {
    const path = this.pathOf(key);
    const info = await stat(path).catch(() => null);
    return info?.isFile() ? Bun.file(path) : null;
  }

  sweepStaging(doomed: (entry: StagingEntry) => boolean | Promise<boolean>): Promise<Reclaimed> {
    return sweepStaging(this.stagingRoot, doomed);
  }

  sweepUploads(maxIdleMs: number): Promise<Reclaimed> {
    const own = `${UPLOAD_LABEL}-${this.owner}`;
    return this.sweepStaging((entry) => {
      if (!isUploadStaging(entry.label)) return false;
      if (entry.label === own && !this.uploading.has(entry.path)) return true;
      return Date.now() - entry.lastModified > maxIdleMs;
    });
  }
}
