import { and, asc, desc, eq, inArray, isNotNull, lte, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { categories, favorites, videos, watchProgress } from "../../db/schema/index.ts";
import { badRequest, notFound } from "../http/errors.ts";
import type { CatalogueCache } from "./cache.ts";
import type { CatalogueEntry, CatalogueVideo } from "./model.ts";
import { type ListedRow, presentEntry, withViewer } from "./presenter.ts";

export interface CatalogueDeps {
  db: Database;
  cache: CatalogueCache;
  publicUrl: string;
}

export interface VideoFilter {
  category?: string;
  q?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * A video is listed once a revision of it is published, its ladder or (while that is made) its
 * fast-start rendition: a re-transcode keeps it on the shelf.
 */
const listed = isNotNull(videos.publishedRevision);

const columns = {
  id: videos.id,
  title: videos.title,
  description: videos.description,
  createdAt: videos.createdAt,
  categoryId: videos.categoryId,
  category: categories.name,
  durationSeconds: videos.durationSeconds,
  renditions: videos.renditions,
  posters: videos.posters,
  publishedRevision: videos.publishedRevision,
  playableAt: videos.playableAt,
  publishedPrefix: videos.publishedPrefix,
};

// Cursors carry PostgreSQL's own text of the timestamp: a JS Date would drop the microseconds and
// skip rows created within the same millisecond.
interface Cursor {
  at: string;
  id: number;
}
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)?$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString("base64url");
}

const MAX_ID = 2 ** 31 - 1;

/** A timestamp PostgreSQL accepts: real month, day, time and an offset of at most ±15:59. */
function isValidTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const offsetHours = match[8] === undefined ? 0 : Number(match[8]);
  const offsetMinutes = match[9] === undefined ? 0 : Number(match[9]);
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHours <= 15 &&
    offsetMinutes <= 59
  );
}

export function decodeCursor(text: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if (
      typeof at === "string" &&
      isValidTimestamp(at) &&
      Number.isInteger(id) &&
      (id as number) > 0 &&
      (id as number) <= MAX_ID
    ) {
      return { at, id: id as number };
    }
  } catch {
    // answered below
  }
  throw badRequest({ cursor: ["Invalid cursor."] });
}

/** `%` and `_` in a search term are meant literally. */
export const likePattern = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** PostgreSQL fails a query whose text holds NUL (a 500); such a filter is a 400 naming the field. */
function checkFilter(filter: VideoFilter): void {
  for (const field of ["category", "q"] as const) {
    if (filter[field]?.includes("\0")) throw badRequest({ [field]: ["Must not contain NUL characters."] });
  }
}

function filterConditions(filter: VideoFilter): SQL[] {
  const conditions: SQL[] = [listed];
  const category = filter.category?.trim();
  if (category) {
    conditions.push(
      /^\d{1,9}$/.test(category)
        ? eq(videos.categoryId, Number(category))
        : sql`lower(${categories.name}) = lower(${category})`,
    );
  }
  const q = filter.q?.trim();
  if (q) conditions.push(sql`${videos.title} ilike ${likePattern(q)} escape '\\'`);
  return conditions;
}

const cacheKey = (...parts: unknown[]) => JSON.stringify(parts);

/**
 * What signed-in users browse: listed videos, their categories and their own favorites. The
 * user-independent answers go through the cache; progress and favorites are read per request.
 */
export class CatalogueService {
  constructor(private readonly deps: CatalogueDeps) {}

  /** Every listed video, newest first (the Videoflix list). */
  all(): Promise<CatalogueEntry[]> {
    return this.deps.cache.get(cacheKey("all"), async () =>
      this.present(await this.select().where(listed).orderBy(desc(videos.createdAt), desc(videos.id))),
    );
  }

  page(filter: VideoFilter, limit: number, cursor?: string): Promise<Page<CatalogueEntry>> {
    checkFilter(filter);
    const after = cursor === undefined ? null : decodeCursor(cursor);
    return this.deps.cache.get(cacheKey("page", filter.category, filter.q, limit, after), async () => {
      const conditions = filterConditions(filter);
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
        items: this.present(shown),
        next_cursor: more && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
      };
    });
  }

  /** Rows per category (alphabetical), each with its `perRow` newest videos. */
  grouped(
    filter: VideoFilter,
    perRow: number,
  ): Promise<Array<{ category: { id: number; name: string }; videos: CatalogueEntry[] }>> {
    checkFilter(filter);
    return this.deps.cache.get(cacheKey("grouped", filter.category, filter.q, perRow), async () => {
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
        .where(and(...filterConditions(filter)))
        .as("ranked");
      const rows = await this.select()
        .innerJoin(ranked, eq(ranked.id, videos.id))
        .where(lte(ranked.rank, perRow))
        .orderBy(asc(sql`lower(${categories.name})`), desc(videos.createdAt), desc(videos.id));
      const byCategory = new Map<number, { category: { id: number; name: string }; videos: ListedRow[] }>();
      for (const row of rows) {
        let group = byCategory.get(row.categoryId);
        if (!group) {
          group = { category: { id: row.categoryId, name: row.category }, videos: [] };
          byCategory.set(row.categoryId, group);
        }
        group.videos.push(row);
      }
      return [...byCategory.values()].map((group) => ({
        category: group.category,
        videos: this.present(group.videos),
      }));
    });
  }

  async one(id: number): Promise<CatalogueEntry> {
    const [entry] = await this.deps.cache.get(cacheKey("one", id), async () =>
      this.present(await this.select().where(and(listed, eq(videos.id, id)))),
    );
    if (!entry) throw notFound("Video not found.");
    return entry;
  }

  /** Categories that have listed videos, alphabetical, with how many. */
  categories(): Promise<Array<{ id: number; name: string; video_count: number }>> {
    return this.deps.cache.get(cacheKey("categories"), () =>
      this.deps.db
        .select({ id: categories.id, name: categories.name, video_count: sql<number>`count(*)::int` })
        .from(categories)
        .innerJoin(videos, and(eq(videos.categoryId, categories.id), listed))
        .groupBy(categories.id)
        .orderBy(asc(sql`lower(${categories.name})`)),
    );
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
  async favorites(userId: number, limit: number, cursor?: string): Promise<Page<CatalogueVideo>> {
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
      items: await this.forViewer(userId, this.present(shown)),
      next_cursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
    };
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

  private present(rows: ListedRow[]): CatalogueEntry[] {
    return rows.map((row) => presentEntry(this.deps.publicUrl, row));
  }
}
