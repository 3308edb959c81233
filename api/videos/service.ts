import { desc, eq, sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { categories, type Video, videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { progressKey, type TranscodeProgress, VIDEO_STATE_CHANNEL } from "../../transcoder/contract.ts";
import { ApiError, badRequest, notFound } from "../http/errors.ts";
import type { TranscodeQueue } from "../transcoding/queue.ts";
import type { StoredUpload } from "./upload.ts";

export interface VideoAdminDeps {
  db: Database;
  storage: MediaStorage;
  queue: TranscodeQueue;
  redis: Redis;
  log: Logger;
}

export interface VideoWithCategory {
  video: Video;
  category: string;
}

interface Metadata {
  title?: string;
  description?: string;
  category?: string;
}

const LIMITS = { title: 200, description: 5000, category: 100 } as const;

/** Checks the text fields of an upload or a PATCH; `required` names the ones that must be present. */
function validMetadata(input: Record<string, unknown>, required: Array<keyof Metadata>): Metadata {
  const errors: Record<string, string[]> = {};
  const result: Metadata = {};
  for (const field of ["title", "description", "category"] as const) {
    const raw = input[field];
    if (raw === undefined) {
      if (required.includes(field)) errors[field] = ["This field is required."];
      continue;
    }
    const value = typeof raw === "string" ? raw.trim() : "";
    if (typeof raw !== "string") errors[field] = ["Must be text."];
    else if (value.length === 0 && field !== "description") errors[field] = ["This field may not be blank."];
    else if (value.length > LIMITS[field]) errors[field] = [`At most ${LIMITS[field]} characters.`];
    else result[field] = value;
  }
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return result;
}

/** What admins do to videos: upload, edit, replace the file, retry, delete. */
export class VideoAdminService {
  constructor(private readonly deps: VideoAdminDeps) {}

  async create(upload: StoredUpload, uploadedBy: number): Promise<VideoWithCategory> {
    const file = upload.file;
    if (!file) throw badRequest({ file: ["This field is required."] });
    const metadata = validMetadata(upload.fields, ["title", "category"]);
    const { video, category } = await this.deps.db.transaction(async (tx) => {
      const category = await this.category(tx, metadata.category!);
      const [row] = await tx
        .insert(videos)
        .values({
          title: metadata.title!,
          description: metadata.description ?? "",
          categoryId: category.id,
          uploadedBy,
          sourceKey: file.key,
          sourceBytes: file.bytes,
        })
        .returning();
      return { video: row!, category };
    });
    await this.enqueue(video);
    this.deps.log.info({ video_id: video.id, bytes: file.bytes }, "video uploaded");
    // The category's stored name: "drama" files the video under an existing "Drama", and the answer
    // must say so, as GET does (it used to echo the name as typed).
    return { video, category: category.name };
  }

  list(): Promise<VideoWithCategory[]> {
    return this.deps.db
      .select({ video: videos, category: categories.name })
      .from(videos)
      .innerJoin(categories, eq(categories.id, videos.categoryId))
      .orderBy(desc(videos.createdAt), desc(videos.id));
  }

  async get(id: number): Promise<VideoWithCategory> {
    const [row] = await this.deps.db
      .select({ video: videos, category: categories.name })
      .from(videos)
      .innerJoin(categories, eq(categories.id, videos.categoryId))
      .where(eq(videos.id, id));
    if (!row) throw notFound("Video not found.");
    return row;
  }

  async update(id: number, input: Record<string, unknown>): Promise<VideoWithCategory> {
    const metadata = validMetadata(input, []);
    await this.deps.db.transaction(async (tx) => {
      const changes: Partial<typeof videos.$inferInsert> = {};
      if (metadata.title !== undefined) changes.title = metadata.title;
      if (metadata.description !== undefined) changes.description = metadata.description;
      if (metadata.category !== undefined)
        changes.categoryId = (await this.category(tx, metadata.category)).id;
      const rows = await tx
        .update(videos)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(videos.id, id))
        .returning({ id: videos.id });
      if (rows.length === 0) throw notFound("Video not found.");
    });
    await this.announce("video.updated", id);
    return this.get(id);
  }

  /**
   * Starts a new revision from a new file. The published renditions stay where they are (and
   * playable) until the new revision's are published; only then are they removed.
   */
  async replaceFile(id: number, upload: StoredUpload): Promise<VideoWithCategory> {
    const file = upload.file;
    if (!file) throw badRequest({ file: ["This field is required."] });
    const replaced = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(videos).where(eq(videos.id, id)).for("update");
      if (!current) return null;
      const [next] = await tx
        .update(videos)
        .set({
          revision: current.revision + 1,
          sourceKey: file.key,
          sourceBytes: file.bytes,
          processingState: "pending",
          processingError: null,
          processingStartedAt: null,
        })
        .where(eq(videos.id, id))
        .returning();
      return { previous: current, next: next! };
    });
    if (!replaced) {
      await this.deps.storage.deletePrefix(file.key);
      throw notFound("Video not found.");
    }
    await this.deps.queue.discard(id, replaced.previous.revision);
    await this.enqueue(replaced.next);
    await this.deps.storage.deletePrefix(replaced.previous.sourceKey);
    await this.announce("video.updated", id);
    return this.get(id);
  }

  async retry(id: number): Promise<VideoWithCategory> {
    const rows = await this.deps.db
      .update(videos)
      .set({ processingState: "pending", processingError: null, processingStartedAt: null })
      .where(sql`${videos.id} = ${id} and ${videos.processingState} = 'error'`)
      .returning();
    const video = rows[0];
    if (!video) {
      await this.get(id); // 404 when it does not exist at all
      throw new ApiError(409, { detail: "Only a video in state `error` can be retried." });
    }
    await this.deps.queue.retry(video);
    await this.announce("video.updated", id);
    return this.get(id);
  }

  async delete(id: number): Promise<void> {
    const [deleted] = await this.deps.db.delete(videos).where(eq(videos.id, id)).returning();
    if (!deleted) throw notFound("Video not found.");
    await this.deps.queue.discard(id, deleted.revision);
    // Every revision's tree lives under videos/<id>; a job still running publishes into a video that
    // no longer exists, and the state consumer removes that output when its event arrives.
    await this.deps.storage.deletePrefix(`videos/${id}`);
    await this.deps.storage.deletePrefix(deleted.sourceKey);
    await this.deps.redis.del(progressKey(id));
    await this.announce("video.deleted", id);
  }

  /** Latest progress ticks of the given videos, from the keys the transcoders keep up to date. */
  async progressOf(ids: number[]): Promise<Map<number, TranscodeProgress>> {
    const result = new Map<number, TranscodeProgress>();
    if (ids.length === 0) return result;
    const values = await this.deps.redis.mget(ids.map(progressKey));
    values.forEach((value, index) => {
      if (value) result.set(ids[index]!, JSON.parse(value) as TranscodeProgress);
    });
    return result;
  }

  private async enqueue(video: Video): Promise<void> {
    try {
      await this.deps.queue.enqueue({ id: video.id, revision: video.revision, sourceKey: video.sourceKey });
    } catch (error) {
      // The row is saved; reconciliation enqueues it once Redis answers again.
      this.deps.log.error({ err: error, video_id: video.id }, "enqueue failed; reconciliation will retry");
    }
  }

  /** The category of that name in any letter case, created when there is none. */
  private async category(
    tx: Pick<Database, "insert" | "select">,
    name: string,
  ): Promise<{ id: number; name: string }> {
    await tx.insert(categories).values({ name }).onConflictDoNothing();
    const [row] = await tx
      .select({ id: categories.id, name: categories.name })
      .from(categories)
      .where(sql`lower(${categories.name}) = lower(${name})`);
    return row!;
  }

  private async announce(type: "video.updated" | "video.deleted", id: number): Promise<void> {
    await this.deps.redis.publish(VIDEO_STATE_CHANNEL, JSON.stringify({ type, id })).catch(() => 0);
  }
}
