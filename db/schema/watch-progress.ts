import { index, integer, pgTable, primaryKey, real, timestamp } from "drizzle-orm/pg-core";
import { users } from "./users.ts";
import { videos } from "./videos.ts";

/**
 * Where a user stopped in a video ("continue watching"): one row per user and video. Heartbeats are
 * coalesced in Redis and flushed here in batches; `clientSentAt` decides which write is the latest.
 */
export const watchProgress = pgTable(
  "watch_progress",
  {
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    videoId: integer("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    positionSeconds: real("position_seconds").notNull(),
    /** When the client sent the heartbeat: last write wins by this, not by arrival order. */
    clientSentAt: timestamp("client_sent_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.videoId] }),
    index("watch_progress_user_recent_idx").on(table.userId, table.clientSentAt),
  ],
);
