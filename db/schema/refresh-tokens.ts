import { index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.ts";

/**
 * Opaque refresh tokens, stored as SHA-256 hashes. Every use rotates the token inside its family;
 * presenting a token that was already rotated revokes the whole family (reuse detection), unless it
 * comes back within the grace window, which hands out the same successor again. A family is one session
 * (its id is the access token's `sid`); it is revoked once any of its rows is.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: uuid("family_id").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Who asked for this token (login or refresh), shown in the user's list of sessions. */
    userAgent: text("user_agent"),
    ipAddress: text("ip_address"),
    /**
     * The user's session epoch the family was started under (copied on rotation): a login that read the
     * epoch before a password reset committed must not be refreshed into a token of the new epoch.
     */
    sessionEpoch: integer("session_epoch").notNull().default(0),
    /**
     * Set when this token is rotated: the successor pair (refresh and access token) encrypted under a
     * key derived from this token itself and the server's secret (api/auth/refresh-successor.ts), so a
     * copy of the table alone reveals no token.
     */
    successorSealed: text("successor_sealed"),
    /**
     * The client dialect the session was started through (api/compat/<dialect>/); null: the course
     * client's cookies. Copied on rotation; each dialect's endpoints refuse another's tokens.
     */
    dialect: text("dialect"),
  },
  (table) => [
    index("refresh_tokens_user_idx").on(table.userId),
    index("refresh_tokens_family_idx").on(table.familyId),
  ],
);

export type RefreshToken = typeof refreshTokens.$inferSelect;
