// The admin library listing: filters (search, state, category), three sorts and keyset pages. A page's
// cursor carries the sort it was made for and the last row's sort key and id, so the next page starts
// strictly after that row even when rows were added or deleted in between.
import { type SQL, sql } from "drizzle-orm";
import { categories, type ProcessingState, videos } from "../../db/schema/index.ts";
import { badRequest } from "../http/errors.ts";

export const LIBRARY_SORTS = ["newest", "oldest", "title"] as const;
export type LibrarySort = (typeof LIBRARY_SORTS)[number];

export interface LibraryQuery {
  q?: string;
  state?: ProcessingState;
  /** A category id, or its name in any case. */
  category?: string;
  sort?: LibrarySort;
}

/** The last row of a page: its sort key (microseconds since 1970 for the dates, the title for `title`). */
export interface LibraryCursor {
  sort: LibrarySort;
  key: number | string;
  id: number;
}

const MAX_ID = 2 ** 31 - 1;
/** 1970 to 2200 in microseconds: far inside Number's exact integers (2^53). */
const MAX_MICROS = 7_258_118_400_000_000;
/** A title's maxLength in the upload and PATCH schemas: the longest key a title cursor carries. */
const MAX_TITLE_KEY = 200;

const cursorJson = (cursor: LibraryCursor) => JSON.stringify([cursor.sort, cursor.key, cursor.id]);

export function encodeLibraryCursor(cursor: LibraryCursor): string {
  return Buffer.from(cursorJson(cursor)).toString("base64url");
}

/**
 * The longest cursor a real page can hand out: a title of control characters (each `\u00XX` in JSON, six
 * bytes; lone surrogates escape the same way, and no character takes more) and the largest id, base64url.
 */
export const MAX_LIBRARY_CURSOR_LENGTH = Math.ceil(
  (Buffer.byteLength(cursorJson({ sort: "title", key: "\u0001".repeat(MAX_TITLE_KEY), id: MAX_ID })) * 4) / 3,
);

/** A cursor of this sort, or a 400 naming `cursor` (garbled, forged, or made for another sort). */
export function decodeLibraryCursor(text: string, sort: LibrarySort): LibraryCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && parsed.length === 3) {
    const [madeFor, key, id] = parsed as unknown[];
    const validId = Number.isInteger(id) && (id as number) > 0 && (id as number) <= MAX_ID;
    const validKey =
      sort === "title"
        ? typeof key === "string" && key.length <= MAX_TITLE_KEY
        : Number.isSafeInteger(key) && (key as number) >= 0 && (key as number) <= MAX_MICROS;
    if (madeFor === sort && validId && validKey) {
      // A forged key with NUL would reach PostgreSQL, which refuses it in text (22021, a 500).
      if (typeof key === "string" && key.includes("\0")) {
        throw badRequest({ cursor: ["Must not contain NUL characters."] });
      }
      return { sort, key: key as number | string, id: id as number };
    }
    if (madeFor !== sort && LIBRARY_SORTS.includes(madeFor as LibrarySort)) {
      throw badRequest({ cursor: [`This cursor belongs to sort=${String(madeFor)}.`] });
    }
  }
  throw badRequest({ cursor: ["Invalid cursor."] });
}

/** `%` and `_` in a search term are meant literally. */
const likePattern = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The WHERE conditions of the filters; PostgreSQL refuses NUL in query text, so that is a 400 first. */
export function libraryConditions(query: LibraryQuery): SQL[] {
  for (const field of ["q", "category"] as const) {
    if (query[field]?.includes("\0")) throw badRequest({ [field]: ["Must not contain NUL characters."] });
  }
  const conditions: SQL[] = [];
  const q = query.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    conditions.push(
      sql`(${videos.title} ilike ${pattern} escape '\\' or ${videos.description} ilike ${pattern} escape '\\')`,
    );
  }
  if (query.state) conditions.push(sql`${videos.processingState} = ${query.state}`);
  const category = query.category?.trim();
  if (category) {
    conditions.push(
      /^\d{1,9}$/.test(category)
        ? sql`${videos.categoryId} = ${Number(category)}`
        : sql`lower(${categories.name}) = lower(${category})`,
    );
  }
  return conditions;
}

/** The sort's key as selected (for the next cursor), its ORDER BY, and the keyset condition after a row. */
export function librarySort(sort: LibrarySort) {
  // Microseconds as an exact integer: a JS Date would drop them and skip rows of the same millisecond.
  const micros = sql<string>`(extract(epoch from ${videos.createdAt}) * 1000000)::bigint::text`;
  const at = (key: number) => sql`(timestamptz 'epoch' + ${key}::bigint * interval '1 microsecond')`;
  switch (sort) {
    case "newest":
      return {
        key: micros,
        orderBy: [sql`${videos.createdAt} desc`, sql`${videos.id} desc`],
        after: (cursor: LibraryCursor) =>
          sql`(${videos.createdAt}, ${videos.id}) < (${at(cursor.key as number)}, ${cursor.id}::integer)`,
      };
    case "oldest":
      return {
        key: micros,
        orderBy: [sql`${videos.createdAt} asc`, sql`${videos.id} asc`],
        after: (cursor: LibraryCursor) =>
          sql`(${videos.createdAt}, ${videos.id}) > (${at(cursor.key as number)}, ${cursor.id}::integer)`,
      };
    case "title":
      return {
        key: sql<string>`${videos.title}`,
        orderBy: [sql`${videos.title} asc`, sql`${videos.id} asc`],
        after: (cursor: LibraryCursor) =>
          sql`(${videos.title}, ${videos.id}) > (${cursor.key as string}::text, ${cursor.id}::integer)`,
      };
  }
}

/** The cursor's key from the selected text: a number of microseconds, or the title as it is. */
export const cursorKey = (sort: LibrarySort, selected: string): number | string =>
  sort === "title" ? selected : Number(selected);
