// Sessions behind the refresh token: one family per login, rotated on every refresh; a rotated token
// presented again within the grace window (REFRESH_GRACE_SECONDS) gets the same successor pair, later
// it means the token leaked, and its whole family is revoked. The family's id is the session's id (the
// access token's `sid`); ending a session here also revokes its access tokens. A dialect whose client
// re-sends its first refresh token forever (djoser) renews its access token without rotating.
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { type RefreshToken, refreshTokens, type User, users } from "../../db/schema/index.ts";
import type { AvailableDialect } from "../config/compat.ts";
import type { Config } from "../config/load.ts";
import { unauthorized } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import { RefreshSuccessors } from "./refresh-successor.ts";
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

/** Longer than any token we issue: a presented value past it is not worth a query. */
const MAX_PRESENTED_LENGTH = 256;
/** Longer user agents are cut: the value is shown, never parsed. */
const MAX_USER_AGENT_LENGTH = 512;

const INVALID = "Refresh token is invalid.";
const EXPIRED = "Refresh token has expired.";

/** The session's dialect, or null for the course client's cookies. */
export type SessionDialect = AvailableDialect | null;

type Executor = Pick<Database, "select" | "update">;
type Refusal = { error: string; reuse?: { userId: number; familyId: string } };

export class RefreshSessions {
  constructor(
    private readonly deps: {
      db: Database;
      accessTokens: AccessTokens;
      clock: Clock;
      config: Pick<Config, "refreshTokenTtlSeconds" | "refreshGraceSeconds">;
      /** Keys the sealed successors (RefreshSuccessors), with each presented token. */
      successorSecret: string;
      revocations: RevocationEpochs;
      log: Logger;
    },
  ) {
    this.successors = new RefreshSuccessors(deps.successorSecret);
  }

  private readonly successors: RefreshSuccessors;

  /** A login: a new family with its first refresh token, and an access token. */
  async issue(user: User, client: SessionClient, dialect: SessionDialect = null): Promise<IssuedSession> {
    const familyId = crypto.randomUUID();
    const refreshToken = await this.store(this.deps.db, user, familyId, client, dialect);
    const sessionUser = sessionUserOf(user, familyId, dialect);
    return { user: sessionUser, accessToken: await this.deps.accessTokens.sign(sessionUser), refreshToken };
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
    dialect: SessionDialect,
  ): Promise<string> {
    const { clock, config } = this.deps;
    const refreshToken = newSecret();
    await executor.insert(refreshTokens).values({
      userId: user.id,
      familyId,
      dialect,
      sessionEpoch: user.sessionEpoch,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(clock.now().getTime() + config.refreshTokenTtlSeconds * 1000),
      userAgent: client.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
      ipAddress: client.ip,
    });
    return refreshToken;
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
   * Rotates the presented token: marked rotated, a new one joins its family. The same token presented
   * again within the grace window gets the same successor pair (no second one is stored); later, its
   * family is revoked. 401 for anything else, and for a token of another dialect.
   * The successor is stored in the rotation's transaction: stored after it, a concurrent reuse that
   * revokes the family between the two would miss it and leave the winner's session alive.
   */
  async rotate(
    presented: string,
    client: SessionClient,
    dialect: SessionDialect = null,
  ): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction(async (tx): Promise<Refusal | IssuedSession> => {
      // Parallel refreshes of one token queue here: the first rotates, the others then see its successor.
      const [row] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(presented)))
        .for("update");
      if (!row || row.revokedAt || row.dialect !== dialect) return { error: INVALID };
      if (row.rotatedAt) {
        const repeated = this.repeatedWithinGrace(row, presented, now);
        if (!repeated) {
          await this.revokeFamily(tx, row.familyId, now);
          return {
            error: "Refresh token was already used; the session has been revoked.",
            reuse: { userId: row.userId, familyId: row.familyId },
          };
        }
        const user = await this.liveUserOf(tx, row, now);
        if ("error" in user) return user;
        return { user: sessionUserOf(user, row.familyId, dialect), ...repeated };
      }
      const user = await this.liveUserOf(tx, row, now);
      if ("error" in user) return user;
      if (row.expiresAt <= now) return { error: EXPIRED };
      const sessionUser = sessionUserOf(user, row.familyId, dialect);
      const accessToken = await this.deps.accessTokens.sign(sessionUser);
      const refreshToken = await this.store(tx, user, row.familyId, client, dialect);
      const successorSealed = this.successors.seal(presented, { refreshToken, accessToken });
      await tx
        .update(refreshTokens)
        .set({ rotatedAt: now, successorSealed })
        .where(eq(refreshTokens.id, row.id));
      return { user: sessionUser, accessToken, refreshToken };
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
    return outcome;
  }

  /**
   * A new access token for the session of a refresh token that is never rotated (a dialect whose
   * client keeps re-sending the refresh token it got at login): the same checks as a rotation, and the
   * presented token stays the session's. 401 for anything else, and for a token of another dialect.
   */
  async renewAccess(presented: string, dialect: AvailableDialect): Promise<IssuedSession> {
    const { db, clock, accessTokens } = this.deps;
    const now = clock.now();
    const [row] = await db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)));
    if (!row || row.revokedAt || row.rotatedAt || row.dialect !== dialect) throw unauthorized(INVALID);
    const user = await this.liveUserOf(db, row, now);
    if ("error" in user) throw unauthorized(user.error);
    if (row.expiresAt <= now) throw unauthorized(EXPIRED);
    // A revocation that commits after these reads is still heard: the token's `sid` is refused then.
    const sessionUser = sessionUserOf(user, row.familyId, dialect);
    return { user: sessionUser, accessToken: await accessTokens.sign(sessionUser), refreshToken: presented };
  }

  /** The successor pair of a token rotated less than the grace window ago, opened with that token. */
  private repeatedWithinGrace(row: RefreshToken, presented: string, now: Date) {
    const graceMs = this.deps.config.refreshGraceSeconds * 1000;
    if (!row.rotatedAt || !row.successorSealed) return null;
    // Measured on our clock, both ends: REFRESH_GRACE_SECONDS=0 turns the window off.
    if (now.getTime() - row.rotatedAt.getTime() >= graceMs) return null;
    return this.successors.open(presented, row.successorSealed);
  }

  /**
   * The token's user when its session is still live: no revoked row in the family (a successor stored
   * by a rotation that raced the session's revocation escaped its UPDATE, the others still say it is
   * over), an active account, and the user's current epoch (a login that read the epoch before a
   * password reset committed stored its family after the reset's UPDATE: as revoked as the rest).
   */
  private async liveUserOf(tx: Executor, row: RefreshToken, now: Date): Promise<User | Refusal> {
    const [revoked] = await tx
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyId, row.familyId), isNotNull(refreshTokens.revokedAt)))
      .limit(1);
    const [user] = revoked ? [] : await tx.select().from(users).where(eq(users.id, row.userId));
    if (revoked || (user && row.sessionEpoch < user.sessionEpoch)) {
      await this.revokeFamily(tx, row.familyId, now);
      return { error: INVALID };
    }
    return user?.isActive ? user : { error: INVALID };
  }

  private revokeFamily(tx: Pick<Database, "update">, familyId: string, now: Date) {
    return tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
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
}

export const presentedTooLong = (presented: string) => presented.length > MAX_PRESENTED_LENGTH;

function sessionUserOf(user: User, familyId: string, dialect: SessionDialect): SessionUser {
  return {
    id: user.id,
    email: user.email,
    isAdmin: user.isAdmin,
    sessionId: familyId,
    userEpoch: user.sessionEpoch,
    ...(dialect ? { dialect } : {}),
  };
}
