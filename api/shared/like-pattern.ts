/** A `LIKE` pattern for "contains `term`": `%` and `_` in a search term are meant literally. */
export const likePattern = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
