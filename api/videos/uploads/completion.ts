// The last byte of a resumable upload makes its video, exactly once: a retried or duplicated final PATCH,
// on this replica or another, gets the video the first one made. The finishing work is serialised by a
// lock of its own (Redis, every replica), and the video's insert records it on the upload's row in the
// same transaction, so even a lock lost to a pause cannot make a second video.
import { randomUUID } from "node:crypto";
import type { Upload } from "@tus/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../../db/client.ts";
import { resumableUploads, videos } from "../../../db/schema/index.ts";
import type { MediaStorage } from "../../../storage/index.ts";
import { notFound } from "../../http/errors.ts";
import type { VideoAdminService } from "../service.ts";
import { sniffContainer } from "../sniff.ts";
import type { RedisLocker } from "./locker.ts";
import type { StorageUploadStore } from "./store.ts";
import { tusError } from "./tus-errors.ts";

/** Finishing a many-gigabyte upload copies it once; the lock must outlast that. */
const FINISH_LOCK_WAIT_MS = 10 * 60_000;

class AlreadyCompleted extends Error {}

export class UploadCompletion {
  constructor(
    private readonly deps: {
      db: Database;
      storage: MediaStorage;
      store: StorageUploadStore;
      locker: RedisLocker;
      videoAdmin: VideoAdminService;
      log: Logger;
    },
  ) {}

  /** The video id the complete `upload` became, creating the video (pending, job enqueued) the first time. */
  async complete(upload: Upload): Promise<number> {
    const lock = this.deps.locker.newLock(`finish:${upload.id}`, FINISH_LOCK_WAIT_MS);
    // No cancel: a second finisher waits for the first, then reads the video it made.
    await lock.lock(new AbortController().signal, () => {});
    try {
      const known = await this.videoOf(upload.id);
      if (known.videoId !== null) {
        await this.deps.store.markComplete(upload.id, known.videoId);
        return known.videoId;
      }
      return await this.createVideo(upload, known.uploadedBy);
    } finally {
      await lock.unlock();
    }
  }

  /** The upload's row: who made it and the video it became (null while none). */
  async videoOf(uploadId: string): Promise<{ videoId: number | null; uploadedBy: number | null }> {
    const [row] = await this.deps.db
      .select({ videoId: resumableUploads.videoId, uploadedBy: resumableUploads.uploadedBy })
      .from(resumableUploads)
      .where(eq(resumableUploads.uploadId, uploadId));
    if (!row) throw notFound("No such upload.");
    return row;
  }

  private async sourceKeyOf(videoId: number): Promise<string | null> {
    const [row] = await this.deps.db
      .select({ sourceKey: videos.sourceKey })
      .from(videos)
      .where(eq(videos.id, videoId));
    return row?.sourceKey ?? null;
  }

  private async createVideo(upload: Upload, uploadedBy: number | null): Promise<number> {
    const { store, storage, videoAdmin } = this.deps;
    const container = sniffContainer(await store.head(upload.id));
    if (!container) {
      await store.remove(upload.id);
      throw tusError(415, { file: ["The file is not a video container we can read."] });
    }
    // Named by the server after the sniffed container, as the multipart route names its sources (a
    // finishing taken up again after a kill keeps the key the first one recorded).
    const { key, bytes } = await store.assemble(upload.id, `sources/${randomUUID()}.${container.extension}`);
    const metadata = upload.metadata ?? {};
    const fields = Object.fromEntries(
      (["title", "description", "category", "translations"] as const)
        .filter((name) => typeof metadata[name] === "string")
        .map((name) => [name, metadata[name] as string]),
    );
    let videoId: number;
    try {
      const created = await videoAdmin.create(
        { fields, file: { key, bytes, filename: metadata.filename ?? "upload" } },
        uploadedBy,
        async (tx, video) => {
          const claimed = await tx
            .update(resumableUploads)
            .set({ videoId: video.id, completedAt: new Date() })
            .where(and(eq(resumableUploads.uploadId, upload.id), isNull(resumableUploads.videoId)))
            .returning({ uploadId: resumableUploads.uploadId });
          if (claimed.length === 0) throw new AlreadyCompleted();
        },
      );
      videoId = created.video.id;
    } catch (error) {
      if (!(error instanceof AlreadyCompleted)) {
        await store.disassemble(upload.id, key);
        throw error;
      }
      const again = await this.videoOf(upload.id);
      if (again.videoId === null) throw error;
      videoId = again.videoId;
      // The other finisher took up the same recorded key: the source is its video's now.
      if ((await this.sourceKeyOf(videoId)) !== key) await storage.deletePrefix(key);
    }
    await store.markComplete(upload.id, videoId);
    this.deps.log.info({ upload_id: upload.id, video_id: videoId, bytes }, "resumable upload completed");
    return videoId;
  }
}
