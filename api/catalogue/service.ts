import { and, desc, eq, inArray, lte, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { categories, favorites, videos, watchProgress } from "../../db/schema/index.ts";
import { notFound } from "../http/errors.ts";
import { type LanguagePreference, localise, type SupportedLanguages } from "../shared/localisation.ts";
import type { Mp4Signer } from "../shared/progressive-mp4.ts";
import type { CatalogueCache } from "./cache.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { checkFilter, filterConditions, listed, type VideoFilter } from "./filters.ts";
import type { CatalogueEntry, CatalogueVideo } from "./model.ts";
import { alphabetically, type ListedRow, presentEntry, withViewer } from "./presenter.ts";

export type { VideoFilter } from "./filters.ts";

export interface CatalogueDeps {
  db: Database;
  cache: CatalogueCache;
  publicUrl: string;
  /** SUPPORTED_LANGUAGES: searches and category names look in each. */
  languages: SupportedLanguages;
  /** Signs each rendition's `mp4_url` (cached entries keep a URL seconds old; it lives for hours). */
  mp4Signer: Mp4Signer;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

const columns = {
  id: videos.id,
  title: videos.title,
  description: videos.description,
  translations: videos.translations,
  createdAt: videos.createdAt,
  categoryId: videos.categoryId,
  category: categories.name,
  categoryTranslations: categories.translations,
  durationSeconds: videos.durationSeconds,
  renditions: videos.renditions,
  posters: videos.posters,
  publishedRevision: videos.publishedRevision,
  playableAt: videos.playableAt,
  publishedPrefix: videos.publishedPrefix,
};

/** Every answer is cached in the languages it was localised in: `de,en` never serves an `en` reader. */
const cacheKey = (languages: LanguagePreference, ...parts: unknown[]) =>
  JSON.stringify([languages.join(","), ...parts]);

/**
 * What signed-in users browse: listed videos, their categories and their own favorites, with their
 * texts in the reader's languages (`languages`, from the route's `{ localised: true }`). The
 * user-independent answers go through the cache; progress and favorites are read per request.
 */
export class CatalogueService {
  constructor(private readonly deps: CatalogueDeps) {}

  /** Every listed video, newest first (the Videoflix list). */
  all(languages: LanguagePreference): Promise<CatalogueEntry[]> {
    return this.deps.cache.get(cacheKey(languages, "all"), async () =>
      this.present(
        await this.select().where(listed).orderBy(desc(videos.createdAt), desc(videos.id)),
        languages,
      ),
    );
  }

  page(
    filter: VideoFilter,
    limit: number,
    cursor: string | undefined,
    languages: LanguagePreference,
  ): Promise<Page<CatalogueEntry>> {
    checkFilter(filter);
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const key = cacheKey(languages, "page", filter.category, filter.q, limit, after);
    return this.deps.cache.get(key, async () => {
      const conditions = filterConditions(filter, this.deps.languages);
      if (after) {
        conditions.push(
          sql`(${videos.createdAt}, ${videos.id}) < (${after.at}::timestamptz, ${after.id}::integer)`,
        );
      }
      const rows = await this.select({ cursorAt: sql<string>`${videos.createdAt}::text` })
        .where(and(...conditions))
        .orderBy(desc(videos.createdAt), desc(videos.id))
        .limit(limit + 1);
      const more = rows.length > limit;
      const shown = rows.slice(0, limit);
      const last = shown.at(-1);
      return {
        items: this.present(shown, languages),
        next_cursor: more && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
      };
    });
  }

  /** Rows per category (alphabetical in the reader's language), each with its `perRow` newest videos. */
  grouped(
    filter: VideoFilter,
    perRow: number,
    languages: LanguagePreference,
  ): Promise<Array<{ category: { id: number; name: string }; videos: CatalogueEntry[] }>> {
    checkFilter(filter);
    const key = cacheKey(languages, "grouped", filter.category, filter.q, perRow);
    return this.deps.cache.get(key, async () => {
      const { db } = this.deps;
      const ranked = db
        .select({
          id: videos.id,
          rank: sql<number>`row_number() over (partition by ${videos.categoryId} order by ${videos.createdAt} desc, ${videos.id} desc)`.as(
            "rank",
          ),
        })
        .from(videos)
        .innerJoin(categories, eq(categories.id, videos.categoryId))
        .where(and(...filterConditions(filter, this.deps.languages)))
        .as("ranked");
      const rows = await this.select()
        .innerJoin(ranked, eq(ranked.id, videos.id))
        .where(lte(ranked.rank, perRow))
        .orderBy(desc(videos.createdAt), desc(videos.id));
      const byCategory = new Map<number, ListedRow[]>();
      for (const row of rows) {
        const members = byCategory.get(row.categoryId);
        if (members) members.push(row);
        else byCategory.set(row.categoryId, [row]);
      }
      // The category's name as each of its entries shows it: in the reader's language.
      const groups = [...byCategory.entries()].map(([id, members]) => {
        const entries = this.present(members, languages);
        return { category: { id, name: entries[0]!.category }, videos: entries };
      });
      const order = alphabetically(languages);
      return groups.sort((a, b) => order(a.category, b.category));
    });
  }

  async one(id: number, languages: LanguagePreference): Promise<CatalogueEntry> {
    const [entry] = await this.deps.cache.get(cacheKey(languages, "one", id), async () =>
      this.present(await this.select().where(and(listed, eq(videos.id, id))), languages),
    );
    if (!entry) throw notFound("Video not found.");
    return entry;
  }

  /** Categories that have listed videos, alphabetical in the reader's language, with how many. */
  categories(
    languages: LanguagePreference,
  ): Promise<Array<{ id: number; name: string; video_count: number }>> {
    return this.deps.cache.get(cacheKey(languages, "categories"), async () => {
      const rows = await this.deps.db
        .select({
          id: categories.id,
          name: categories.name,
          translations: categories.translations,
          video_count: sql<number>`count(*)::int`,
        })
        .from(categories)
        .innerJoin(videos, and(eq(videos.categoryId, categories.id), listed))
        .groupBy(categories.id);
      return rows
        .map((row) => {
          const { id, name, video_count } = localise(row, languages);
          return { id, name, video_count };
        })
        .sort(alphabetically(languages));
    });
  }

  /** Adds the viewer's own progress and favorite mark to user-independent entries. */
  async forViewer(userId: number, entries: CatalogueEntry[]): Promise<CatalogueVideo[]> {
    if (entries.length === 0) return [];
    const ids = entries.map((entry) => entry.id);
    const [favored, progress] = await Promise.all([
      this.deps.db
        .select({ videoId: favorites.videoId })
        .from(favorites)
        .where(and(eq(favorites.userId, userId), inArray(favorites.videoId, ids))),
      this.deps.db
        .select({
          videoId: watchProgress.videoId,
          positionSeconds: watchProgress.positionSeconds,
          updatedAt: watchProgress.updatedAt,
        })
        .from(watchProgress)
        .where(and(eq(watchProgress.userId, userId), inArray(watchProgress.videoId, ids))),
    ]);
    const favoriteIds = new Set(favored.map((row) => row.videoId));
    const progressOf = new Map(progress.map((row) => [row.videoId, row]));
    return entries.map((entry) => withViewer(entry, favoriteIds.has(entry.id), progressOf.get(entry.id)));
  }

  /** The user's favorites that are listed, most recently added first. */
  async favorites(
    userId: number,
    limit: number,
    cursor: string | undefined,
    languages: LanguagePreference,
  ): Promise<Page<CatalogueVideo>> {
    const conditions: SQL[] = [listed, eq(favorites.userId, userId)];
    if (cursor !== undefined) {
      const after = decodeCursor(cursor);
      conditions.push(
        sql`(${favorites.createdAt}, ${favorites.videoId}) < (${after.at}::timestamptz, ${after.id}::integer)`,
      );
    }
    const rows = await this.select({ cursorAt: sql<string>`${favorites.createdAt}::text` })
      .innerJoin(favorites, eq(favorites.videoId, videos.id))
      .where(and(...conditions))
      .orderBy(desc(favorites.createdAt), desc(favorites.videoId))
      .limit(limit + 1);
    const shown = rows.slice(0, limit);
    const last = shown.at(-1);
    return {
      items: await this.forViewer(userId, this.present(shown, languages)),
      next_cursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
    };
  }

  /** The ids of the user's favorites that are listed, most recently added first. */
  async favoriteIds(userId: number): Promise<number[]> {
    const rows = await this.deps.db
      .select({ id: favorites.videoId })
      .from(favorites)
      .innerJoin(videos, eq(videos.id, favorites.videoId))
      .where(and(listed, eq(favorites.userId, userId)))
      .orderBy(desc(favorites.createdAt), desc(favorites.videoId));
    return rows.map((row) => row.id);
  }

  /** Marks a listed video as a favorite; marking it again changes nothing. */
  async addFavorite(userId: number, videoId: number): Promise<void> {
    await this.requireListed(videoId);
    await this.deps.db.insert(favorites).values({ userId, videoId }).onConflictDoNothing();
  }

  async removeFavorite(userId: number, videoId: number): Promise<void> {
    await this.requireListed(videoId);
    await this.deps.db
      .delete(favorites)
      .where(and(eq(favorites.userId, userId), eq(favorites.videoId, videoId)));
  }

  private async requireListed(videoId: number): Promise<void> {
    const [row] = await this.deps.db
      .select({ id: videos.id })
      .from(videos)
      .where(and(listed, eq(videos.id, videoId)));
    if (!row) throw notFound("Video not found.");
  }

  private select<Extra extends Record<string, SQL.Aliased | SQL>>(extra?: Extra) {
    return this.deps.db
      .select({ ...columns, ...(extra as Extra) })
      .from(videos)
      .innerJoin(categories, eq(categories.id, videos.categoryId))
      .$dynamic();
  }

  private present(rows: ListedRow[], languages: LanguagePreference): CatalogueEntry[] {
    return rows.map((row) => presentEntry(this.deps.publicUrl, this.deps.mp4Signer, row, languages));
  }
}
