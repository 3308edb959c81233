// A user's sessions as the user and the admins see them: the list, and ending one of one's own. Ending
// all of a user's sessions and deactivating an account are admin changes (user-admin.ts): they check
// the admin rules under the same lock.
import { and, desc, eq, isNotNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { refreshTokens } from "../../db/schema/index.ts";
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
}
