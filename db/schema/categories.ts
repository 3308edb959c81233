import { sql } from "drizzle-orm";
import { check, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** A category's name in other languages than the default, by language code (`{"de": {"name": "Komödie"}}`). */
export type CategoryTranslations = Record<string, { name?: string }>;

export const categories = pgTable(
  "categories",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    translations: jsonb("translations").$type<CategoryTranslations>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // "Drama" and "drama" are one category. Translated names are not unique: a filter by name matches any.
  (table) => [
    uniqueIndex("categories_name_lower_unique").on(sql`lower(${table.name})`),
    check("categories_translations_object", sql`jsonb_typeof(${table.translations}) = 'object'`),
  ],
);

export type Category = typeof categories.$inferSelect;
