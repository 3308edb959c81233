import { and, eq, sql } from "drizzle-orm";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { progressChannel, progressKey, type TranscodeProgress } from "../../contract/progress.ts";
import type { Database } from "../../db/client.ts";
import { categories, type Video, type VideoTranslations, videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { ApiError, badRequest, notFound } from "../http/errors.ts";
import type { AuditActor, AuditLog } from "../shared/audit.ts";
import type { SupportedLanguages } from "../shared/localisation.ts";
import {
  applyTranslations,
  checkTranslations,
  type TranslatedField,
  type TranslationsPatch,
} from "../shared/translations.ts";
import {
  cursorKey,
  decodeLibraryCursor,
  encodeLibraryCursor,
  type LibraryQuery,
  libraryConditions,
  librarySort,
} from "./library.ts";
import type { Transaction, VideoLifecycle } from "./lifecycle.ts";
import type { TranscodeQueue } from "./transcode-queue.ts";
import type { StoredUpload } from "./upload.ts";

export interface VideoAdminDeps {
  db: Database;
  storage: MediaStorage;
  queue: TranscodeQueue;
  lifecycle: VideoLifecycle;
  redis: Redis;
  log: Logger;
  /** SUPPORTED_LANGUAGES: what `translations` may name. */
  languages: SupportedLanguages;
  audit: AuditLog;
}

export interface VideoWithCategory {
  video: Video;
  category: string;
}

export interface Metadata {
  title?: string;
  description?: string;
  category?: string;
  translations?: TranslationsPatch;
}

const LIMITS = { title: 200, description: 5000, category: 100 } as const;

/** What a video's `translations` may hold: the same limits as the plain fields. */
export const VIDEO_TRANSLATED_FIELDS: Readonly<Record<string, TranslatedField>> = {
  title: { maxLength: LIMITS.title, blankMeans: "refused" },
  description: { maxLength: LIMITS.description, blankMeans: "none" },
};

/**
 * Checks the text fields of an upload or a PATCH; `required` names the ones that must be present.
 * `translations` is an object in a PATCH, and JSON text in an upload's form.
 */
export function validMetadata(
  input: Record<string, unknown>,
  required: Array<keyof Metadata>,
  languages: SupportedLanguages,
): Metadata {
  const errors: Record<string, string[]> = {};
  const result: Metadata = {};
  let translations = input.translations;
  if (typeof translations === "string") {
    try {
      translations = JSON.parse(translations);
    } catch {
      errors.translations = ['Must be JSON: {"de": {"title": "…", "description": "…"}}.'];
      translations = undefined;
    }
  }
  result.translations = checkTranslations(translations, VIDEO_TRANSLATED_FIELDS, languages, errors);
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

/**
 * What admins do to videos: upload, edit, replace the file, retry, delete. State moves go through the
 * lifecycle; this service adds the queue and storage work around them.
 */
/** Each round lost means a delete of that category committed in between: a few are plenty. */
const CATEGORY_ROUNDS = 3;

export class VideoAdminService {
  constructor(private readonly deps: VideoAdminDeps) {}

  /**
   * A video from a stored upload (the multipart route's, or a finished resumable upload's).
   * `inserted` runs in the creating transaction (a resumable upload records its video there).
   */
  async create(
    upload: StoredUpload,
    uploadedBy: number | null,
    inserted?: (tx: Transaction, video: Video) => Promise<void>,
  ): Promise<VideoWithCategory> {
    const file = upload.file;
    if (!file) throw badRequest({ file: ["This field is required."] });
    const metadata = validMetadata(upload.fields, ["title", "category"], this.deps.languages);
    let category = "";
    const video = await this.deps.lifecycle.create(async (tx) => {
      const found = await this.category(tx, metadata.category!);
      category = found.name;
      return {
        title: metadata.title!,
        description: metadata.description ?? "",
        translations: applyTranslations<VideoTranslations>({}, metadata.translations ?? {}),
        categoryId: found.id,
        uploadedBy,
        sourceKey: file.key,
        sourceBytes: file.bytes,
      };
    }, inserted);
    await this.enqueue(video);
    this.deps.log.info({ video_id: video.id, bytes: file.bytes }, "video uploaded");
    // The category's stored name: "drama" files the video under an existing "Drama", and the answer
    // must say so, as GET does (it used to echo the name as typed).
    return { video, category };
  }

  /** Every video matching the filters, in the query's sort (newest first by default). */
  async list(query: LibraryQuery = {}): Promise<VideoWithCategory[]> {
    const order = librarySort(query.sort ?? "newest");
    return this.deps.db
      .select({ video: videos, category: categories.name })
      .from(videos)
      .innerJoin(categories, eq(categories.id, videos.categoryId))
      .where(and(...libraryConditions(query)))
      .orderBy(...order.orderBy);
  }

  /** One keyset page of the library: `limit` rows after `cursor`, and the cursor of the next page. */
  async page(
    query: LibraryQuery,
    limit: number,
    cursor: string | undefined,
  ): Promise<{ rows: VideoWithCategory[]; nextCursor: string | null }> {
    const sort = query.sort ?? "newest";
    const order = librarySort(sort);
    const conditions = libraryConditions(query);
    if (cursor !== undefined) conditions.push(order.after(decodeLibraryCursor(cursor, sort)));
    const found = await this.deps.db
      .select({ video: videos, category: categories.name, sortKey: order.key })
      .from(videos)
      .innerJoin(categories, eq(categories.id, videos.categoryId))
      .where(and(...conditions))
      .orderBy(...order.orderBy)
      .limit(limit + 1);
    const rows = found.slice(0, limit);
    const last = found.length > limit ? rows.at(-1) : undefined;
    return {
      rows: rows.map(({ video, category }) => ({ video, category })),
      nextCursor: last
        ? encodeLibraryCursor({ sort, key: cursorKey(sort, last.sortKey), id: last.video.id })
        : null,
    };
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
    const metadata = validMetadata(input, [], this.deps.languages);
    const found = await this.deps.lifecycle.edit(id, async (tx) => ({
      ...(metadata.title !== undefined ? { title: metadata.title } : {}),
      ...(metadata.description !== undefined ? { description: metadata.description } : {}),
      ...(metadata.category !== undefined
        ? { categoryId: (await this.category(tx, metadata.category)).id }
        : {}),
      ...(metadata.translations !== undefined
        ? { translations: await this.patchedTranslations(tx, id, metadata.translations) }
        : {}),
    }));
    if (!found) throw notFound("Video not found.");
    return this.get(id);
  }

  /** Starts a new revision from a new file (see lifecycle.ts); the old source goes once it is replaced. */
  async replaceFile(id: number, upload: StoredUpload): Promise<VideoWithCategory> {
    const file = upload.file;
    if (!file) throw badRequest({ file: ["This field is required."] });
    const replaced = await this.deps.lifecycle.replaceSource(id, file);
    if (!replaced) {
      await this.deps.storage.deletePrefix(file.key);
      throw notFound("Video not found.");
    }
    const previous = await this.deps.queue.discard(id, replaced.previous.revision);
    await this.enqueue(replaced.next);
    await this.deps.storage.deletePrefix(replaced.previous.sourceKey);
    // A run still holding the old revision's job reports as it ends; one that waited (a film for its
    // pieces, a job handed back) never will: its open row in the job history ends here. Bookkeeping
    // only, after what the new revision needs: a failure here is logged, never the replace's.
    if (previous === "removed")
      await this.deps.lifecycle
        .abandonRevision(id, replaced.previous.revision)
        .catch((error) =>
          this.deps.log.warn(
            { err: error, video_id: id, revision: replaced.previous.revision },
            "the replaced revision's open attempts were not closed",
          ),
        );
    return this.get(id);
  }

  async retry(actor: AuditActor, id: number): Promise<VideoWithCategory> {
    const video = await this.deps.lifecycle.retry(id);
    if (!video) {
      const { video: current } = await this.get(id); // 404 when it does not exist at all
      throw new ApiError(409, {
        detail: `Only a video in state \`error\` can be retried; this one is \`${current.processingState}\`.`,
        reason: "not_failed",
        processing_state: current.processingState,
      });
    }
    await this.deps.queue.retry(video);
    this.deps.audit("video.retried", actor, { video_id: id, revision: video.revision });
    return this.get(id);
  }

  async delete(id: number): Promise<void> {
    const deleted = await this.deps.lifecycle.delete(id);
    if (!deleted) throw notFound("Video not found.");
    await this.deps.queue.discard(id, deleted.revision);
    // Every revision's tree lives under videos/<id>; a job still running publishes into a video that
    // no longer exists, and the lifecycle removes that output when its report arrives.
    await this.deps.storage.deletePrefix(`videos/${id}`);
    await this.deps.storage.deletePrefix(deleted.sourceKey);
    await this.deps.redis.del(progressKey(id));
  }

  /** Latest progress ticks of the given videos, from the keys the transcoders keep up to date. */
  async progressOf(ids: number[]): Promise<Map<number, TranscodeProgress>> {
    const result = new Map<number, TranscodeProgress>();
    if (ids.length === 0) return result;
    const values = await this.deps.redis.mget(ids.map(progressKey));
    values.forEach((value, index) => {
      const tick = value ? progressChannel.decode(value) : null;
      if (tick?.ok) result.set(ids[index]!, tick.value);
    });
    return result;
  }

  private async enqueue(video: Video): Promise<void> {
    try {
      await this.deps.queue.enqueue(video);
    } catch (error) {
      // The row is saved; reconciliation enqueues it once Redis answers again.
      this.deps.log.error({ err: error, video_id: video.id }, "enqueue failed; reconciliation will retry");
    }
  }

  /** The video's translations with `patch` applied, read under a row lock so concurrent edits merge. */
  private async patchedTranslations(
    tx: Pick<Database, "select">,
    id: number,
    patch: TranslationsPatch,
  ): Promise<VideoTranslations> {
    const [row] = await tx
      .select({ translations: videos.translations })
      .from(videos)
      .where(eq(videos.id, id))
      .for("update");
    return applyTranslations<VideoTranslations>(row?.translations ?? {}, patch);
  }

  /**
   * The category of that name in any letter case, created when there is none. Read FOR KEY SHARE: a
   * category delete that has not locked the row yet then waits for this transaction and counts its
   * video (409); one that committed first leaves no row, and the next round creates it again.
   */
  private async category(
    tx: Pick<Database, "insert" | "select">,
    name: string,
  ): Promise<{ id: number; name: string }> {
    for (let round = 0; round < CATEGORY_ROUNDS; round++) {
      await tx.insert(categories).values({ name }).onConflictDoNothing();
      const [row] = await tx
        .select({ id: categories.id, name: categories.name })
        .from(categories)
        .where(sql`lower(${categories.name}) = lower(${name})`)
        .for("key share");
      if (row) return row;
    }
    throw new ApiError(409, { category: ["This category is being deleted and created again; try again."] });
  }
}
