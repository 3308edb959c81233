import { bigint, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.ts";
import { videos } from "./videos.ts";

/**
 * A one-time direct-upload URL handed to an integrator: one tus upload, until `expiresAt`, at most
 * `maxBytes`, into a video whose metadata was fixed when the URL was made. The token is an HMAC of the
 * id (nothing secret is stored). Its status is derived from the columns (see the uploads presenter).
 */
export const directUploads = pgTable(
  "direct_uploads",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    category: text("category").notNull(),
    maxBytes: bigint("max_bytes", { mode: "number" }).notNull(),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    /** The tus upload the token was used for: set once, by the creation request that claimed it. */
    uploadId: text("upload_id").unique(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("direct_uploads_expires_at_idx").on(table.expiresAt)],
);

/**
 * Every tus upload (an admin's or a direct upload's): who made it, and the video its last byte made.
 * `videoId` is written in the transaction that inserts the video, so a retried or duplicated final
 * PATCH, on any replica, finds it instead of creating a second video.
 */
export const resumableUploads = pgTable("resumable_uploads", {
  uploadId: text("upload_id").primaryKey(),
  uploadedBy: integer("uploaded_by").references(() => users.id, { onDelete: "set null" }),
  directUploadId: uuid("direct_upload_id").references(() => directUploads.id, { onDelete: "set null" }),
  videoId: integer("video_id").references(() => videos.id, { onDelete: "set null" }),
  completedAt: timestamp("completed_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export type DirectUpload = typeof directUploads.$inferSelect;
export type ResumableUpload = typeof resumableUploads.$inferSelect;
