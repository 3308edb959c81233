// The jsonb columns hold the transcoder's result shapes as reported (db/ imports only the contract's types).

import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  real,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import type { PosterImage, Rendition, Storyboard } from "../../contract/media.ts";
import { categories } from "./categories.ts";
import { users } from "./users.ts";

/**
 * A video's title and description in other languages than the default, by language code
 * (`{"de": {"title": "…"}}`): only the fields that were translated, so a missing one falls back to the
 * default language's (the `title` and `description` columns). Written by the admin api, which checks
 * the languages and lengths.
 */
export type VideoTranslations = Record<string, { title?: string; description?: string }>;

export const processingState = pgEnum("processing_state", ["pending", "processing", "ready", "error"]);

/**
 * A video and its transcoding state. `revision` counts uploads of its file; `publishedRevision` is the
 * one whose HLS tree viewers get, so a re-upload keeps the old renditions playable until the new ones
 * are published. While a revision's ladder is made, `publishedPrefix` may name its fast-start tree
 * (contract/media.ts fastStartPrefixFor): the video is `processing` and already playable.
 */
export const videos = pgTable(
  "videos",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    translations: jsonb("translations").$type<VideoTranslations>().notNull().default({}),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "restrict" }),
    uploadedBy: integer("uploaded_by").references(() => users.id, { onDelete: "set null" }),
    processingState: processingState("processing_state").notNull().default("pending"),
    processingError: text("processing_error"),
    revision: integer("revision").notNull().default(1),
    sourceKey: text("source_key").notNull(),
    sourceBytes: bigint("source_bytes", { mode: "number" }).notNull(),
    publishedRevision: integer("published_revision"),
    publishedPrefix: text("published_prefix"),
    durationSeconds: real("duration_seconds"),
    renditions: jsonb("renditions").$type<Rendition[]>().notNull().default([]),
    masterPlaylist: text("master_playlist"),
    posters: jsonb("posters").$type<PosterImage[]>().notNull().default([]),
    storyboard: jsonb("storyboard").$type<Storyboard | null>(),
    processingStartedAt: timestamp("processing_started_at", { withTimezone: true }),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    /**
     * When the video first became watchable: its fast-start rendition went live while the ladder was
     * still being made (docs/fast-start.md), or, without one, when it became ready.
     */
    playableAt: timestamp("playable_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (table) => [
    index("videos_state_created_idx").on(table.processingState, table.createdAt),
    index("videos_category_idx").on(table.categoryId),
    // The catalogue's order (newest first: this one read backwards) over what it lists: a page, or a
    // search that matches many videos, walks it and stops at the page's end instead of sorting them all.
    index("videos_listed_created_idx")
      .on(table.createdAt, table.id)
      .where(sql`${table.publishedRevision} is not null`),
    // `?q=` in every language: trigrams of every title and description (migration 0008 creates the
    // function and pg_trgm), so a rare term is found without reading every video.
    index("videos_search_trgm").using(
      "gin",
      sql`catalogue_search_text(${table.title}, ${table.description}, ${table.translations}) gin_trgm_ops`,
    ),
    check("videos_translations_object", sql`jsonb_typeof(${table.translations}) = 'object'`),
  ],
);

export type Video = typeof videos.$inferSelect;
export type ProcessingState = (typeof processingState.enumValues)[number];
