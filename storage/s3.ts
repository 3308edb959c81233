// MediaStorage on an S3-compatible bucket (SeaweedFS, AWS S3, R2, B2, Garage) through Bun's own
// S3Client: multipart uploads streamed as they arrive, ranged and presigned reads, no AWS SDK. The
// processes share no disk: working directories live in each process's own scratch directory.
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { S3Client } from "bun";
import {
  assertSafeKey,
  type MediaDelivery,
  type MediaStorage,
  type Reclaimed,
  type StagingEntry,
  type StoredObject,
  type TransferProgress,
  UploadTooLargeError,
} from "./index.ts";
import { createStaging, discardStaging, sweepStaging } from "./staging.ts";

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket: "" or ending in "/". */
  prefix: string;
  endpoint: string;
  /** The endpoint presigned URLs name (what players reach). */
  publicEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** This process's own working directory (downloads, outputs before upload). */
  scratchRoot: string;
}

/** Multipart part size: S3's minimum is 5 MiB; four parts in flight bound an upload's memory to ~40 MiB. */
const PART_SIZE = 10 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/** Files of a rendition uploaded at once when publishing. */
const UPLOADS_IN_FLIGHT = 8;
const UPLOAD_ATTEMPTS = 4;
const DELETES_IN_FLIGHT = 16;

export class S3MediaStorage implements MediaStorage {
  readonly kind = "s3" as const;
  private readonly client: S3Client;
  /** Signs URLs for the public endpoint (a signature covers the host it names). */
  private readonly publicClient: S3Client;

  constructor(private readonly options: S3StorageOptions) {
    const common = {
      bucket: options.bucket,
      region: options.region,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      virtualHostedStyle: !options.forcePathStyle,
    };
    this.client = new S3Client({ ...common, endpoint: options.endpoint });
    this.publicClient = new S3Client({ ...common, endpoint: options.publicEndpoint });
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return `${this.options.prefix}${key}`;
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, options: { maxBytes: number }) {
    const writer = this.client.file(this.objectKey(key)).writer({
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      retry: 3,
    });
    let bytes = 0;
    let unflushed = 0;
    try {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        if (bytes > options.maxBytes) throw new UploadTooLargeError(options.maxBytes);
        writer.write(chunk);
        unflushed += chunk.byteLength;
        // write() only buffers (it returns a number, not a promise): awaiting a flush per part is the
        // backpressure, so a slow store slows the client and memory stays at a few parts.
        if (unflushed >= PART_SIZE) {
          await writer.flush();
          unflushed = 0;
        }
      }
      await writer.end();
      return { bytes };
    } catch (error) {
      // Ending with an error aborts the multipart upload: no part of it stays in the bucket.
      await Promise.resolve(writer.end(error instanceof Error ? error : new Error(String(error)))).catch(
        () => {},
      );
      await this.client.delete(this.objectKey(key)).catch(() => {});
      throw error;
    }
  }

  async stat(key: string): Promise<{ size: number; lastModified: number } | null> {
    try {
      const info = await this.client.file(this.objectKey(key)).stat();
      return { size: info.size, lastModified: info.lastModified.getTime() };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async fetchToLocal(key: string, dir: string, onProgress?: TransferProgress): Promise<string> {
    const info = await this.stat(key);
    if (!info) throw new Error(`no object at ${key}`);
    await mkdir(dir, { recursive: true });
    const target = join(dir, key.slice(key.lastIndexOf("/") + 1));
    const writer = Bun.file(target).writer({ highWaterMark: 1 << 20 });
    let done = 0;
    try {
      for await (const chunk of this.client.file(this.objectKey(key)).stream()) {
        writer.write(chunk);
        await writer.flush();
        done += chunk.byteLength;
        onProgress?.(done, info.size);
      }
    } finally {
      await writer.end();
    }
    // A connection cut short ends the stream early without an error on some servers: count the bytes.
    if (done !== info.size) throw new Error(`download of ${key} stopped at ${done} of ${info.size} bytes`);
    return target;
  }

  createStagingDir(label: string): Promise<string> {
    return createStaging(this.options.scratchRoot, label);
  }

  discardStaging(label: string): Promise<void> {
    return discardStaging(this.options.scratchRoot, label);
  }

  async publishDirectory(
    stagingDir: string,
    prefix: string,
    onProgress?: TransferProgress,
    signal?: AbortSignal,
  ): Promise<void> {
    const entries = await readdir(stagingDir, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(stagingDir, join(entry.parentPath, entry.name)));
    // Playlists go last: when one is readable, every segment it lists is already in the bucket.
    const media = files.filter((file) => !file.endsWith(".m3u8"));
    const playlists = files.filter((file) => file.endsWith(".m3u8"));
    const sizes = await Promise.all(files.map(async (file) => (await stat(join(stagingDir, file))).size));
    const total = sizes.reduce((sum, size) => sum + size, 0);
    let done = 0;
    const upload = async (file: string) => {
      signal?.throwIfAborted();
      const path = join(stagingDir, file);
      const size = (await stat(path)).size;
      await withRetries(() => this.client.write(this.objectKey(`${prefix}/${file}`), Bun.file(path)));
      done += size;
      onProgress?.(done, total);
    };
    await inParallel(media, UPLOADS_IN_FLIGHT, upload);
    await inParallel(playlists, UPLOADS_IN_FLIGHT, upload);
    await rm(stagingDir, { recursive: true, force: true });
  }

  /** One PUT: an object appears whole or not at all. */
  async putFile(localPath: string, key: string): Promise<void> {
    await withRetries(() => this.client.write(this.objectKey(key), Bun.file(localPath)));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.list(prefix)) keys.push(object.key);
    // The object itself when `prefix` names one, then everything below it as a folder.
    if (!prefix.endsWith("/")) for await (const object of this.list(`${prefix}/`)) keys.push(object.key);
    await inParallel([...new Set(keys)], DELETES_IN_FLIGHT, (key) => this.client.delete(this.objectKey(key)));
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const full = `${this.options.prefix}${prefix}`;
    let continuationToken: string | undefined;
    do {
      const page = await this.client.list({
        prefix: full,
        ...(continuationToken ? { continuationToken } : {}),
      });
      for (const object of page.contents ?? []) {
        const key = object.key.slice(this.options.prefix.length);
        // A listing by a prefix that is not a folder also matches longer names ("videos/1" ~ "videos/12").
        if (!prefix.endsWith("/") && key !== prefix) continue;
        yield {
          key,
          size: object.size ?? 0,
          lastModified: object.lastModified ? Date.parse(object.lastModified) : 0,
        };
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
  }

  readStream(key: string): AsyncIterable<Uint8Array> {
    return this.client.file(this.objectKey(key)).stream();
  }

  async readText(key: string): Promise<string | null> {
    try {
      return await this.client.file(this.objectKey(key)).text();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async deliver(
    key: string,
    expiresInSeconds: number,
    options: { downloadAs?: string } = {},
  ): Promise<MediaDelivery | null> {
    // No existence check: the URL answers 404 itself, and a HEAD per segment would cost a round trip.
    const expiresIn = presignableSeconds(expiresInSeconds);
    const url = this.publicClient.presign(this.objectKey(key), {
      expiresIn,
      // Signed into the URL as response-content-disposition: the store sends it with the object.
      ...(options.downloadAs ? { contentDisposition: `attachment; filename="${options.downloadAs}"` } : {}),
    });
    return { kind: "url", url, expiresAtSeconds: Math.floor(Date.now() / 1000) + expiresIn };
  }

  /** Presigned GET URL of `key` for the public endpoint. */
  presign(key: string, expiresInSeconds: number): string {
    return this.publicClient.presign(this.objectKey(key), {
      expiresIn: presignableSeconds(expiresInSeconds),
    });
  }

  sweepStaging(doomed: (entry: StagingEntry) => boolean | Promise<boolean>): Promise<Reclaimed> {
    return sweepStaging(this.options.scratchRoot, doomed);
  }

  /**
   * Uploads stream straight into a multipart upload and stage nothing on disk: one cut short is aborted
   * by putStream; the unfinished multipart upload of a killed api is the bucket's to expire
   * (AbortIncompleteMultipartUpload, docs/storage.md).
   */
  async sweepUploads(): Promise<Reclaimed> {
    return { items: 0, bytes: 0 };
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return (
    code === "NoSuchKey" ||
    code === "ERR_S3_FILE_NOT_FOUND" ||
    /not ?found|NoSuchKey|404/i.test(String(error))
  );
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= UPLOAD_ATTEMPTS) throw error;
      await Bun.sleep(200 * 2 ** tries);
    }
  }
}

async function inParallel<T>(items: T[], limit: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  });
  await Promise.all(workers);
}

/** SigV4's longest presigned URL (7 days): the store refuses one signed for longer. */
export const MAX_PRESIGN_SECONDS = 604_800;

/**
 * A token's remaining life can exceed it (MEDIA_MP4_TOKEN_TTL near 7 days, rounded up to its bucket):
 * the URL then lives 7 days, and the client asks the api again after that, as with any expired URL.
 */
const presignableSeconds = (seconds: number) => Math.min(seconds, MAX_PRESIGN_SECONDS);
