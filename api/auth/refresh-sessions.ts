// Sessions behind the refresh token: one family per login, rotated on every refresh; a rotated token
// presented again within the grace window (REFRESH_GRACE_SECONDS) gets the newest pair of its chain of
// successors, later it means the token leaked, and its whole family is revoked. The window is measured on
// the database's clock (rotated_at and now() both), the same for every replica. The family's id is the session's id (the
// access token's `sid`); ending a session here also revokes its access tokens. A dialect whose client
// re-sends its first refresh token forever (djoser) renews its access token without rotating.
import { and, eq, isNotNull, isNull, lte, sql } from "drizzle-orm";
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
type Pair = { refreshToken: string; accessToken: string };

/**
 * How many successors a repeated token's chain is followed through: a client refreshing faster than
 * that inside one window is not a browser's tabs.
 */
const MAX_SUCCESSOR_HOPS = 8;

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

  /**
   * A login: a new family with its first refresh token, and an access token. `ttlSeconds` replaces
   * REFRESH_TOKEN_TTL for a dialect whose session token must outlive it (authemail's API key).
   */
  async issue(
    user: User,
    client: SessionClient,
    dialect: SessionDialect = null,
    ttlSeconds = this.deps.config.refreshTokenTtlSeconds,
  ): Promise<IssuedSession> {
    const familyId = crypto.randomUUID();
    const refreshToken = await this.store(this.deps.db, user, familyId, client, dialect, ttlSeconds);
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
    ttlSeconds = this.deps.config.refreshTokenTtlSeconds,
  ): Promise<string> {
    const { clock } = this.deps;
    const refreshToken = newSecret();
    await executor.insert(refreshTokens).values({
      userId: user.id,
      familyId,
      dialect,
      sessionEpoch: user.sessionEpoch,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(clock.now().getTime() + ttlSeconds * 1000),
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
      const [found] = await tx
        .select({ row: refreshTokens, withinGrace: this.withinGrace() })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(presented)))
        .for("update");
      if (!found) return { error: INVALID };
      const { row, withinGrace } = found;
      if (row.revokedAt || row.dialect !== dialect) return { error: INVALID };
      if (row.rotatedAt) {
        const repeated = withinGrace ? await this.newestSuccessor(tx, row, presented) : null;
        if (repeated === null) {
          await this.revokeFamily(tx, row.familyId, now);
          return {
            error: "Refresh token was already used; the session has been revoked.",
            reuse: { userId: row.userId, familyId: row.familyId },
          };
        }
        if ("error" in repeated) return repeated;
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
        .set({ rotatedAt: sql`now()`, successorSealed })
        .where(eq(refreshTokens.id, row.id));
      await this.forgetPastSuccessors(tx, row.familyId);
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

  /** True in SQL when the row was rotated less than the grace window ago, by the database's clock. */
  private withinGrace() {
    const graceSeconds = this.deps.config.refreshGraceSeconds;
    // Strictly after: REFRESH_GRACE_SECONDS=0 turns the window off.
    return sql<boolean>`coalesce(${refreshTokens.rotatedAt} > now() - make_interval(secs => ${graceSeconds}), false)`;
  }

  /**
   * The pair a token rotated within the window hands out again: its successor's, or, when that one was
   * itself rotated within its own window (A to B, then B to C before a slow request with A came back),
   * the newest pair down the chain, so that the last Set-Cookie a client sees is never an already
   * rotated token. A successor rotated and out of its window gets a plain 401: the token presented is
   * not the leaked one, revoking the family is for its successor's reuse. Null: nothing to open.
   */
  private async newestSuccessor(
    tx: Executor,
    row: RefreshToken,
    presented: string,
  ): Promise<Pair | Refusal | null> {
    if (!row.successorSealed) return null;
    let pair = this.successors.open(presented, row.successorSealed);
    for (let hop = 0; pair !== null && hop < MAX_SUCCESSOR_HOPS; hop++) {
      // Locked as a rotation of it would lock it: one in progress is waited for, then followed. Locks are
      // taken down the chain only, so two of these never wait for each other.
      const [next] = await tx
        .select({ row: refreshTokens, withinGrace: this.withinGrace() })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(pair.refreshToken)))
        .for("update");
      if (!next || next.row.revokedAt) return { error: INVALID };
      if (!next.row.rotatedAt) return pair;
      if (!next.withinGrace || !next.row.successorSealed) return { error: INVALID };
      pair = this.successors.open(pair.refreshToken, next.row.successorSealed);
    }
    return pair === null ? null : { error: INVALID };
  }

  /**
   * Drops the sealed successors of the family's rows whose window has passed: nothing opens them any
   * more, and a copy of the table then holds no pair at all (runs on each rotation of the family).
   */
  private forgetPastSuccessors(tx: Pick<Database, "update">, familyId: string) {
    const graceSeconds = this.deps.config.refreshGraceSeconds;
    return tx
      .update(refreshTokens)
      .set({ successorSealed: null })
      .where(
        and(
          eq(refreshTokens.familyId, familyId),
          isNotNull(refreshTokens.successorSealed),
          lte(refreshTokens.rotatedAt, sql`now() - make_interval(secs => ${graceSeconds})`),
        ),
      );
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
