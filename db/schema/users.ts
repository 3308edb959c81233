import { sql } from "drizzle-orm";
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const users = pgTable(
  "users",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    isActive: boolean("is_active").notNull().default(false),
    isAdmin: boolean("is_admin").notNull().default(false),
    /**
     * The user's revocation epoch: every access token carries the value it was signed under, and one
     * below the current value is refused (api/auth/revocation-epochs.ts). Bumped by a password reset,
     * a deactivation and an admin's "revoke all sessions"; Redis holds a copy, this is the truth.
     */
    sessionEpoch: integer("session_epoch").notNull().default(0),
    lastLoginAt: timestamp("last_login_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  // Emails are stored in their canonical form (api/auth/email-address.ts); the index on lower() keeps
  // them unique whatever their case even for a row written some other way.
  (table) => [
    uniqueIndex("users_email_lower_unique").on(sql`lower(${table.email})`),
    // The admins' user search (`?q=`, any part of the address): trigrams of the address (pg_trgm,
    // migration 0008), so a search among many accounts does not read every row.
    index("users_email_trgm").using("gin", sql`lower(${table.email}) gin_trgm_ops`),
  ],
);

/** The user with this canonical address: the index finds the candidates, the exact value decides. */
export const byCanonicalEmail = (canonical: string) =>
  sql`lower(${users.email}) = lower(${canonical}) and ${users.email} = ${canonical}`;

export type User = typeof users.$inferSelect;
