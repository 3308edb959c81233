import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { videos } from "./videos.ts";

/**
 * Published trees that a newer revision replaced. With object storage their objects stay for a grace
 * period (viewers mid-playlist hold presigned URLs into them); the storage sweeper deletes them after.
 */
export const retiredRevisions = pgTable(
  "retired_revisions",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    videoId: integer("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    prefix: text("prefix").notNull(),
    retiredAt: timestamp("retired_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("retired_revisions_retired_at_idx").on(table.retiredAt)],
);
