import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { videos } from "./videos.ts";

/**
 * Published trees that a newer revision replaced. With object storage their objects stay for a grace
 * period (viewers mid-playlist hold presigned URLs into them); the storage sweeper deletes them after.
 * A fast-start tree replaced by its ladder stays until `removeAfter`, whatever the driver.
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
    /**
     * Set for fast-start trees (on either driver): kept until then, so that a viewer who started on
     * one can finish it; null: the object-storage grace period after `retiredAt` applies.
     */
    removeAfter: timestamp("remove_after", { withTimezone: true }),
  },
  (table) => [index("retired_revisions_retired_at_idx").on(table.retiredAt)],
);
