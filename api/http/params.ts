import { t } from "elysia";

/** A row id in a path: PostgreSQL's `integer`; anything else is refused by the schema before a query. */
export const RowId = t.Integer({ minimum: 1, maximum: 2147483647 });

export const IdParams = t.Object({ id: RowId });
export const VideoIdParams = t.Object({ videoId: RowId });
