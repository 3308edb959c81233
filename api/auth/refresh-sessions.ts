// Sessions behind the refresh-token cookie: one family per login, rotated on every refresh; a rotated
// token presented again means it leaked, and its whole family is revoked. The family's id is the
// session's id (the access token's `sid`); ending a session here also revokes its access tokens.
import { and, desc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { refreshTokens, type User, users } from "../../db/schema/index.ts";
import type { Config } from "../config/load.ts";
import { unauthorized } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { RevocationEpochs } from "./revocation-epochs.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

/** What a successful login or refresh hands to the controller to put into cookies. */
export interface IssuedSession {
  user: SessionUser;
  accessToken: string;
  refreshToken: string;
}

/** Where a login or refresh came from, shown in the user's list of sessions. */
export interface SessionClient {
  userAgent: string | null;
  ip: string;
}

/** One live session of a user, as `GET /api/sessions/` lists it. */
export interface ActiveSession {
  id: string;
  createdAt: Date;
  /** The last login or refresh (an access token is used for up to its lifetime after it). */
  lastUsedAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/** Longer than any token we issue: a presented value past it is not worth a query. */
const MAX_PRESENTED_LENGTH = 256;
/** Longer user agents are cut: the value is shown, never parsed. */
const MAX_USER_AGENT_LENGTH = 512;
/** Sessions listed at most (the newest first). */
const MAX_LISTED = 100;

export class RefreshSessions {
  constructor(
    private readonly deps: {
      db: Database;
      accessTokens: AccessTokens;
      clock: Clock;
      config: Pick<Config, "refreshTokenTtlSeconds">;
      revocations: RevocationEpochs;
      log: Logger;
    },
  ) {}

  /** A login: a new family with its first refresh token, and an access token. */
  async issue(user: User, client: SessionClient): Promise<IssuedSession> {
    const familyId = crypto.randomUUID();
    const refreshToken = await this.store(this.deps.db, user, familyId, client);
    return this.session(user, familyId, refreshToken);
  }

  /**
   * Stores a new refresh token of the family, through the caller's transaction when there is one,
   * under the epoch the user was read with (what the session's access tokens carry).
   */
  private async store(
    executor: Pick<Database, "insert">,
    user: Pick<User, "id" | "sessionEpoch">,
    familyId: string,
    client: SessionClient,
  ): Promise<string> {
    const { clock, config } = this.deps;
    const refreshToken = newSecret();
    await executor.insert(refreshTokens).values({
      userId: user.id,
      familyId,
      sessionEpoch: user.sessionEpoch,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(clock.now().getTime() + config.refreshTokenTtlSeconds * 1000),
      userAgent: client.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
      ipAddress: client.ip,
    });
    return refreshToken;
  }

  private async session(user: User, familyId: string, refreshToken: string): Promise<IssuedSession> {
    const sessionUser: SessionUser = {
      id: user.id,
      email: user.email,
      isAdmin: user.isAdmin,
      sessionId: familyId,
      userEpoch: user.sessionEpoch,
    };
    return { user: sessionUser, accessToken: await this.deps.accessTokens.sign(sessionUser), refreshToken };
  }

  /** The user id a refresh token was issued to, whatever its state; undefined for an unknown token. */
  async ownerOf(presented: string): Promise<number | undefined> {
    const [row] = await this.deps.db
      .select({ userId: refreshTokens.userId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)));
    return row?.userId;
  }

  /**
   * Rotates the presented token: marked rotated, a new one joins its family. 401 for anything else.
   * The successor is stored in the rotation's transaction: stored after it, a concurrent reuse that
   * revokes the family between the two would miss it and leave the winner's session alive.
   */
  async rotate(presented: string, client: SessionClient): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(presented)))
        .for("update");
      if (!row || row.revokedAt) return { error: "Refresh token is invalid." } as const;
      const family = eq(refreshTokens.familyId, row.familyId);
      const revokeFamily = () =>
        tx
          .update(refreshTokens)
          .set({ revokedAt: now })
          .where(and(family, isNull(refreshTokens.revokedAt)));
      if (row.rotatedAt) {
        await revokeFamily();
        return {
          error: "Refresh token was already used; the session has been revoked.",
          reuse: { userId: row.userId, familyId: row.familyId },
        } as const;
      }
      // A successor stored by a rotation that raced the session's revocation escaped its UPDATE: the
      // family's other revoked rows still say the session is over.
      const [revoked] = await tx
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(and(family, isNotNull(refreshTokens.revokedAt)))
        .limit(1);
      if (revoked) {
        await revokeFamily();
        return { error: "Refresh token is invalid." } as const;
      }
      if (row.expiresAt <= now) return { error: "Refresh token has expired." } as const;
      const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
      if (!user?.isActive) return { error: "Refresh token is invalid." } as const;
      // A login that read the epoch before a password reset (or another revoke-all) committed stored
      // its family after the reset's UPDATE: it is as revoked as the sessions the reset saw.
      if (row.sessionEpoch < user.sessionEpoch) {
        await revokeFamily();
        return { error: "Refresh token is invalid." } as const;
      }
      await tx.update(refreshTokens).set({ rotatedAt: now }).where(eq(refreshTokens.id, row.id));
      const refreshToken = await this.store(tx, user, row.familyId, client);
      return { user, familyId: row.familyId, refreshToken } as const;
    });
    if ("error" in outcome) {
      if (outcome.reuse !== undefined) {
        const { userId, familyId } = outcome.reuse;
        this.deps.log.warn({ userId }, "refresh token reuse detected; session family revoked");
        // The leaked session's access tokens (the thief's or the owner's) die with it.
        await this.announceSessionEnd(userId, familyId);
      }
      throw unauthorized(outcome.error);
    }
    return this.session(outcome.user, outcome.familyId, outcome.refreshToken);
  }

  /** Ends the session the presented refresh token belongs to (logout), if any; returns its id. */
  async revokeSessionOf(presented: string | undefined): Promise<string | undefined> {
    if (!presented || presented.length > MAX_PRESENTED_LENGTH) return undefined;
    const [row] = await this.deps.db
      .select({ userId: refreshTokens.userId, familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)));
    if (!row) return undefined;
    await this.revokeSession(row.userId, row.familyId);
    return row.familyId;
  }

  /**
   * Ends one session of the user: its refresh tokens and its access tokens, on every replica. False
   * when the user has no such session (another user's id included), so that nobody learns it exists.
   */
  async revokeSession(userId: number, sessionId: string): Promise<boolean> {
    const family = and(eq(refreshTokens.familyId, sessionId), eq(refreshTokens.userId, userId));
    const [known] = await this.deps.db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(family)
      .limit(1);
    if (!known) return false;
    await this.deps.db
      .update(refreshTokens)
      .set({ revokedAt: this.deps.clock.now() })
      .where(and(family, isNull(refreshTokens.revokedAt)));
    await this.announceSessionEnd(userId, sessionId);
    return true;
  }

  private announceSessionEnd(userId: number, sessionId: string): Promise<void> {
    return this.deps.revocations.announce({
      type: "session.revoked",
      user_id: userId,
      session_id: sessionId,
    });
  }

  /**
   * Ends every session of the user inside the caller's transaction (a password reset, a deactivation,
   * an admin's revocation): the user's epoch is raised, so every access token signed before it dies.
   * Returns what to run once the transaction has committed, to make it take effect everywhere.
   */
  async revokeAllOf(tx: Pick<Database, "update">, userId: number): Promise<() => Promise<void>> {
    const epoch = await this.deps.revocations.raiseUserEpoch(tx, userId);
    await tx
      .update(refreshTokens)
      .set({ revokedAt: this.deps.clock.now() })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
    return async () => {
      if (epoch !== null)
        await this.deps.revocations.announce({ type: "user.sessions_revoked", user_id: userId, epoch });
    };
  }

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
}

export const presentedTooLong = (presented: string) => presented.length > MAX_PRESENTED_LENGTH;
