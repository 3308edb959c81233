import { sql } from "drizzle-orm";
import { integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const categories = pgTable(
  "categories",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // "Drama" and "drama" are one category.
  (table) => [uniqueIndex("categories_name_lower_unique").on(sql`lower(${table.name})`)],
);

export type Category = typeof categories.$inferSelect;
