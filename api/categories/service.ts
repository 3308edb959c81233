import { and, asc, eq, ne, sql } from "drizzle-orm";
import { videoChanges } from "../../contract/video-changes.ts";
import type { Database } from "../../db/client.ts";
import { type Category, type CategoryTranslations, categories, videos } from "../../db/schema/index.ts";
import { ApiError, badRequest, notFound } from "../http/errors.ts";
import type { AuditActor, AuditLog } from "../shared/audit.ts";
import type { EventBus } from "../shared/event-bus.ts";
import type { SupportedLanguages } from "../shared/localisation.ts";
import {
  applyTranslations,
  checkTranslations,
  type TranslatedField,
  type TranslationsPatch,
} from "../shared/translations.ts";

export interface CategoryAdminDeps {
  db: Database;
  bus: EventBus;
  /** SUPPORTED_LANGUAGES: what `translations` may name. */
  languages: SupportedLanguages;
  audit: AuditLog;
}

export interface CategoryWithCount {
  category: Category;
  videoCount: number;
}

const NAME_LIMIT = 100;
export const CATEGORY_TRANSLATED_FIELDS: Readonly<Record<string, TranslatedField>> = {
  name: { maxLength: NAME_LIMIT, blankMeans: "refused" },
};

const nameTaken = () =>
  new ApiError(409, { name: ["A category of this name exists already (in any letter case)."] });

/** PostgreSQL refused the write with this SQLSTATE, as the driver says it, under drizzle's wrapper. */
function isSqlState(error: unknown, code: string): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === code) return true;
    current = current.cause;
  }
  return false;
}
const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

/** 409 with how many videos keep the category: they must move to another one (or go) first. */
const inUse = (videoCount: number) =>
  new ApiError(409, {
    detail: `${videoCount} video${videoCount === 1 ? " is" : "s are"} filed under this category: move or delete ${videoCount === 1 ? "it" : "them"} first.`,
    reason: "in_use",
    video_count: videoCount,
  });

/** The checked `name` and `translations` of a create (name required) or a PATCH. */
function validCategory(
  input: Record<string, unknown>,
  nameRequired: boolean,
  languages: SupportedLanguages,
): { name?: string; translations?: TranslationsPatch } {
  const errors: Record<string, string[]> = {};
  const translations = checkTranslations(input.translations, CATEGORY_TRANSLATED_FIELDS, languages, errors);
  let name: string | undefined;
  if (input.name === undefined) {
    if (nameRequired) errors.name = ["This field is required."];
  } else if (typeof input.name !== "string") errors.name = ["Must be text."];
  else if (input.name.trim() === "") errors.name = ["This field may not be blank."];
  else if (input.name.trim().length > NAME_LIMIT) errors.name = [`At most ${NAME_LIMIT} characters.`];
  else name = input.name.trim();
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return { name, translations };
}

/**
 * What admins do to categories: list them, create one, rename it or translate its name. Uploads still
 * create a category by naming it; this is where its other languages are set. An edit is announced on
 * `vf:video-state` (`category.updated`): every replica's catalogue cache drops its answers, which show
 * the name with each video, and signed-in sockets are told.
 */
export class CategoryAdminService {
  constructor(private readonly deps: CategoryAdminDeps) {}

  /** Every category, with or without videos, alphabetical by its default name. */
  list(): Promise<CategoryWithCount[]> {
    return this.selectWithCount().orderBy(asc(sql`lower(${categories.name})`), asc(categories.id));
  }

  async get(id: number): Promise<CategoryWithCount> {
    const [row] = await this.selectWithCount().where(eq(categories.id, id));
    if (!row) throw notFound("Category not found.");
    return row;
  }

  /** A new, empty category: nothing lists it until a video of it is published, so nothing is announced. */
  async create(actor: AuditActor, input: Record<string, unknown>): Promise<CategoryWithCount> {
    const { name, translations } = validCategory(input, true, this.deps.languages);
    const [category] = await this.deps.db
      .insert(categories)
      .values({ name: name!, translations: applyTranslations<CategoryTranslations>({}, translations ?? {}) })
      .onConflictDoNothing()
      .returning();
    if (!category) throw nameTaken();
    this.deps.audit("category.created", actor, { category_id: category.id, name: category.name });
    return { category, videoCount: 0 };
  }

  async update(actor: AuditActor, id: number, input: Record<string, unknown>): Promise<CategoryWithCount> {
    const { name, translations } = validCategory(input, false, this.deps.languages);
    if (name === undefined && translations === undefined) return this.get(id);
    let previousName = "";
    try {
      await this.deps.db.transaction(async (tx) => {
        const [current] = await tx.select().from(categories).where(eq(categories.id, id)).for("update");
        previousName = current?.name ?? "";
        if (!current) throw notFound("Category not found.");
        if (name !== undefined) {
          const [other] = await tx
            .select({ id: categories.id })
            .from(categories)
            .where(and(sql`lower(${categories.name}) = lower(${name})`, ne(categories.id, id)));
          if (other) throw nameTaken();
        }
        await tx
          .update(categories)
          .set({
            ...(name !== undefined ? { name } : {}),
            ...(translations !== undefined
              ? { translations: applyTranslations(current.translations, translations) }
              : {}),
          })
          .where(eq(categories.id, id));
      });
    } catch (error) {
      // Two renames to one name at the same moment: the index decides, the loser hears why.
      if (isSqlState(error, UNIQUE_VIOLATION)) throw nameTaken();
      throw error;
    }
    await this.deps.bus.publish(videoChanges, { type: "category.updated", id });
    const updated = await this.get(id);
    this.deps.audit("category.updated", actor, {
      category_id: id,
      name: updated.category.name,
      ...(name !== undefined && name !== previousName ? { previous_name: previousName } : {}),
      ...(translations !== undefined ? { translations: Object.keys(translations) } : {}),
    });
    return updated;
  }

  /**
   * Deletes a category no video is filed under; 409 with the count while videos use it. The row is
   * locked while counting; an upload or edit that names it at that moment either holds it FOR KEY SHARE
   * first (the delete waits, counts its video and is refused) or finds it gone and creates it again.
   */
  async delete(actor: AuditActor, id: number): Promise<void> {
    let name = "";
    try {
      await this.deps.db.transaction(async (tx) => {
        const [current] = await tx.select().from(categories).where(eq(categories.id, id)).for("update");
        if (!current) throw notFound("Category not found.");
        name = current.name;
        const [used] = await tx
          .select({ count: sql<number>`count(*)::int` })
          .from(videos)
          .where(eq(videos.categoryId, id));
        if ((used?.count ?? 0) > 0) throw inUse(used!.count);
        await tx.delete(categories).where(eq(categories.id, id));
      });
    } catch (error) {
      if (isSqlState(error, FOREIGN_KEY_VIOLATION)) throw inUse((await this.get(id)).videoCount);
      throw error;
    }
    // Lists that show empty categories too (a dialect's category rows) drop it on every replica.
    await this.deps.bus.publish(videoChanges, { type: "category.updated", id });
    this.deps.audit("category.deleted", actor, { category_id: id, name });
  }

  private selectWithCount() {
    return this.deps.db
      .select({ category: categories, videoCount: sql<number>`count(${videos.id})::int` })
      .from(categories)
      .leftJoin(videos, eq(videos.categoryId, categories.id))
      .groupBy(categories.id)
      .$dynamic();
  }
}
