import { index, integer, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.ts";

export const oneTimeTokenPurpose = pgEnum("one_time_token_purpose", ["activation", "password_reset"]);

/** Single-use tokens sent by email (activation, password reset), stored as SHA-256 hashes. */
export const oneTimeTokens = pgTable(
  "one_time_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: oneTimeTokenPurpose("purpose").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("one_time_tokens_user_purpose_idx").on(table.userId, table.purpose)],
);

export type OneTimeTokenPurpose = (typeof oneTimeTokenPurpose.enumValues)[number];
