// A user's sessions as the user and the admins see them: the list, ending one, ending all of them,
// and deactivating an account (which ends them too).
import { and, desc, eq, isNotNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { refreshTokens, users } from "../../db/schema/index.ts";
import { notFound } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { RefreshSessions } from "./refresh-sessions.ts";

/** One live session of a user, as `GET /api/sessions/` lists it. */
export interface ActiveSession {
  id: string;
  createdAt: Date;
  /** The last login or refresh (an access token is used for up to its lifetime after it). */
  lastUsedAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/** Sessions listed at most (the newest first). */
const MAX_LISTED = 100;

export class SessionService {
  constructor(private readonly deps: { db: Database; sessions: RefreshSessions; clock: Clock }) {}

  /** The user's live sessions (no revoked row, not expired), the most recently used first. */
  list(userId: number): Promise<ActiveSession[]> {
    const newestFirst = sql`order by ${refreshTokens.createdAt} desc`;
    const lastUsedAt = sql<Date>`max(${refreshTokens.createdAt})`.mapWith(refreshTokens.createdAt);
    return this.deps.db
      .select({
        id: refreshTokens.familyId,
        createdAt: sql<Date>`min(${refreshTokens.createdAt})`.mapWith(refreshTokens.createdAt),
        lastUsedAt,
        userAgent: sql<string | null>`(array_agg(${refreshTokens.userAgent} ${newestFirst}))[1]`,
        ip: sql<string | null>`(array_agg(${refreshTokens.ipAddress} ${newestFirst}))[1]`,
      })
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, userId))
      .groupBy(refreshTokens.familyId)
      .having(
        and(
          sql`count(*) filter (where ${isNotNull(refreshTokens.revokedAt)}) = 0`,
          sql`max(${refreshTokens.expiresAt}) > ${this.deps.clock.now().toISOString()}::timestamptz`,
        ),
      )
      .orderBy(desc(lastUsedAt))
      .limit(MAX_LISTED);
  }

  /** Ends one of the user's own sessions; 404 for an id that is not one of theirs (no telling whose). */
  async revokeOwn(userId: number, sessionId: string): Promise<void> {
    if (!(await this.deps.sessions.revokeSession(userId, sessionId))) throw notFound("No such session.");
  }

  /** An admin ends every session of a user; 404 for an unknown user. */
  async revokeAll(userId: number): Promise<void> {
    const announce = await this.deps.db.transaction(async (tx) => {
      const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
      return user ? this.deps.sessions.revokeAllOf(tx, userId) : null;
    });
    if (!announce) throw notFound("No such user.");
    await announce();
  }

  /**
   * An admin deactivates or reactivates an account. Deactivation ends every session at once (a login
   * and a refresh already refuse an inactive account). 404 for an unknown user.
   */
  async setActive(
    userId: number,
    active: boolean,
  ): Promise<{ id: number; email: string; is_active: boolean }> {
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [user] = await tx
        .update(users)
        .set({ isActive: active })
        .where(eq(users.id, userId))
        .returning({ id: users.id, email: users.email, isActive: users.isActive });
      if (!user) return null;
      const announce = active ? null : await this.deps.sessions.revokeAllOf(tx, userId);
      return { user, announce };
    });
    if (!outcome) throw notFound("No such user.");
    await outcome.announce?.();
    return { id: outcome.user.id, email: outcome.user.email, is_active: outcome.user.isActive };
  }
}
