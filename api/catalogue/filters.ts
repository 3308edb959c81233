// The catalogue's filters as SQL: what is listed, `?category=` and `?q=`, in every supported language.
import { eq, isNotNull, type SQL, sql } from "drizzle-orm";
import { categories, videos } from "../../db/schema/index.ts";
import { badRequest } from "../http/errors.ts";
import { likePattern } from "../shared/like-pattern.ts";
import type { SupportedLanguages } from "../shared/localisation.ts";

export interface VideoFilter {
  category?: string;
  q?: string;
}

/**
 * A video is listed once a revision of it is published, its ladder or (while that is made) its
 * fast-start rendition: a re-transcode keeps it on the shelf.
 */
export const listed = isNotNull(videos.publishedRevision);

/** pg_trgm indexes three-character runs: a shorter term cannot narrow the search through the index. */
const MIN_INDEXED_TERM = 3;

/** PostgreSQL fails a query whose text holds NUL (a 500); such a filter is a 400 naming the field. */
export function checkFilter(filter: VideoFilter): void {
  for (const field of ["category", "q"] as const) {
    if (filter[field]?.includes("\0")) throw badRequest({ [field]: ["Must not contain NUL characters."] });
  }
}

/**
 * `?category=` is an id, or a name in any supported language (any case); `?q=` is contained, in any
 * case, in the title or the description of any supported language, whichever the answer is in.
 */
export function filterConditions(filter: VideoFilter, languages: SupportedLanguages): SQL[] {
  const translated = languages.slice(1);
  const conditions: SQL[] = [listed];
  const category = filter.category?.trim();
  if (category) {
    const names = [
      sql`${categories.name}`,
      ...translated.map((language) => sql`${categories.translations} -> ${language}::text ->> 'name'`),
    ];
    conditions.push(
      /^\d{1,9}$/.test(category)
        ? eq(videos.categoryId, Number(category))
        : sql`lower(${category}) in (${sql.join(
            names.map((name) => sql`lower(${name})`),
            sql`, `,
          )})`,
    );
  }
  const q = filter.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    const texts = [
      sql`${videos.title}`,
      sql`${videos.description}`,
      ...translated.flatMap((language) => [
        sql`${videos.translations} -> ${language}::text ->> 'title'`,
        sql`${videos.translations} -> ${language}::text ->> 'description'`,
      ]),
    ];
    conditions.push(
      sql`(${sql.join(
        texts.map((text) => sql`${text} ilike ${pattern} escape '\\'`),
        sql` or `,
      )})`,
    );
    // The same match on every text at once, which the trigram index answers (migration 0008); a term
    // shorter than a trigram gets nothing from it. `\` is LIKE's default escape, as above.
    if (q.length >= MIN_INDEXED_TERM) {
      conditions.push(
        sql`catalogue_search_text(${videos.title}, ${videos.description}, ${videos.translations}) ilike ${pattern}`,
      );
    }
  }
  return conditions;
}
