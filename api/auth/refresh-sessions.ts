// Sessions behind the refresh-token cookie: one family per login, rotated on every refresh; a rotated
// token presented again means it leaked, and its whole family is revoked.
import { and, eq, isNull } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { refreshTokens, type User, users } from "../../db/schema/index.ts";
import type { Config } from "../config/load.ts";
import { unauthorized } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

/** What a successful login or refresh hands to the controller to put into cookies. */
export interface IssuedSession {
  user: SessionUser;
  accessToken: string;
  refreshToken: string;
}

/** Longer than any token we issue: a presented value past it is not worth a query. */
const MAX_PRESENTED_LENGTH = 256;

export class RefreshSessions {
  constructor(
    private readonly deps: {
      db: Database;
      accessTokens: AccessTokens;
      clock: Clock;
      config: Pick<Config, "refreshTokenTtlSeconds">;
      log: Logger;
    },
  ) {}

  /** A login: a new family with its first refresh token, and an access token. */
  async issue(user: User): Promise<IssuedSession> {
    const refreshToken = await this.store(this.deps.db, user.id, crypto.randomUUID());
    return this.session(user, refreshToken);
  }

  /** Stores a new refresh token of the family, through the caller's transaction when there is one. */
  private async store(executor: Pick<Database, "insert">, userId: number, familyId: string): Promise<string> {
    const { clock, config } = this.deps;
    const refreshToken = newSecret();
    await executor.insert(refreshTokens).values({
      userId,
      familyId,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(clock.now().getTime() + config.refreshTokenTtlSeconds * 1000),
    });
    return refreshToken;
  }

  private async session(user: User, refreshToken: string): Promise<IssuedSession> {
    const sessionUser: SessionUser = { id: user.id, email: user.email, isAdmin: user.isAdmin };
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
  async rotate(presented: string): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(presented)))
        .for("update");
      if (!row || row.revokedAt) return { error: "Refresh token is invalid." } as const;
      if (row.rotatedAt) {
        await tx
          .update(refreshTokens)
          .set({ revokedAt: now })
          .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
        return {
          error: "Refresh token was already used; the session has been revoked.",
          reuse: row.userId,
        } as const;
      }
      if (row.expiresAt <= now) return { error: "Refresh token has expired." } as const;
      const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
      if (!user?.isActive) return { error: "Refresh token is invalid." } as const;
      await tx.update(refreshTokens).set({ rotatedAt: now }).where(eq(refreshTokens.id, row.id));
      return { user, refreshToken: await this.store(tx, user.id, row.familyId) } as const;
    });
    if ("error" in outcome) {
      if (outcome.reuse !== undefined) {
        this.deps.log.warn({ userId: outcome.reuse }, "refresh token reuse detected; session family revoked");
      }
      throw unauthorized(outcome.error);
    }
    return this.session(outcome.user, outcome.refreshToken);
  }

  /** Revokes the family the presented token belongs to (logout), if any. */
  async revokeFamilyOf(presented: string | undefined): Promise<void> {
    if (!presented || presented.length > MAX_PRESENTED_LENGTH) return;
    const [row] = await this.deps.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)));
    if (!row) return;
    await this.deps.db
      .update(refreshTokens)
      .set({ revokedAt: this.deps.clock.now() })
      .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
  }

  /** Revokes every session of the user (a password reset), inside the caller's transaction. */
  async revokeAllOf(tx: Pick<Database, "update">, userId: number): Promise<void> {
    await tx
      .update(refreshTokens)
      .set({ revokedAt: this.deps.clock.now() })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  }
}

export const presentedTooLong = (presented: string) => presented.length > MAX_PRESENTED_LENGTH;
