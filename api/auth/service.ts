import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import {
  type OneTimeTokenPurpose,
  oneTimeTokens,
  refreshTokens,
  type User,
  users,
} from "../../db/schema/index.ts";
import type { Mailer } from "../../emails/mailer.ts";
import type { AccountEmail } from "../../emails/render.ts";
import type { Config } from "../config/load.ts";
import { badRequest, unauthorized } from "../http/errors.ts";
import type { BackgroundTasks } from "../shared/background-tasks.ts";
import { hashPassword, passwordProblems, verifyAgainstDecoy, verifyPassword } from "./passwords.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { decodeUid, encodeUid, hashSecret, newSecret } from "./secrets.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

export interface AccountDeps {
  config: Config;
  db: Database;
  mailer: Mailer;
  accessTokens: AccessTokens;
  rateLimiter: RateLimiter;
  background: BackgroundTasks;
  clock: { now(): Date };
  log: Logger;
}

/** What a successful login or refresh hands to the controller to put into cookies. */
export interface IssuedSession {
  user: SessionUser;
  accessToken: string;
  refreshToken: string;
}

export const LOGIN_FAILED = "Please check your input and try again.";
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
// PostgreSQL text cannot hold NUL (a query carrying one fails), and no address has control characters
// or lone UTF-16 surrogates (which would be stored as U+FFFD, another address than the one given).
const CONTROL_CHARACTER = /\p{Cc}/u;
const INVALID_LINK = "The link is invalid or has expired.";

type FieldErrors = Record<string, string[]>;

function addProblem(errors: FieldErrors, field: string, message: string) {
  errors[field] = [...(errors[field] ?? []), message];
}

/** Whether an address may be looked up at all; anything else cannot belong to an account. */
const isLookupable = (email: string) =>
  email.length <= 254 && email.isWellFormed() && !CONTROL_CHARACTER.test(email);

function emailProblem(email: string): string | null {
  return !isLookupable(email) || !EMAIL_PATTERN.test(email) ? "Enter a valid email address." : null;
}

const byEmail = (email: string) => sql`lower(${users.email}) = lower(${email})`;

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  /**
   * Creates an inactive account and mails its activation link. An address that is already registered
   * gets the same answer, and its owner a notice instead (or a fresh activation link if the account
   * was never activated), so the endpoint tells nobody which addresses have accounts.
   */
  async register(input: { email: string; password: string; confirmed_password: string }, ip: string) {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("register", "ip", ip);
    const email = input.email.trim();
    const errors: FieldErrors = {};
    const badEmail = emailProblem(email);
    if (badEmail) addProblem(errors, "email", badEmail);
    for (const problem of passwordProblems(input.password, email)) addProblem(errors, "password", problem);
    if (input.password !== input.confirmed_password) {
      addProblem(errors, "confirmed_password", "Passwords do not match.");
    }
    if (Object.keys(errors).length > 0) throw badRequest(errors);
    await rateLimiter.hit("register", "account", email);

    const passwordHash = await hashPassword(input.password);
    const [created] = await this.deps.db
      .insert(users)
      .values({ email, passwordHash })
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (created) {
      await this.sendActivation(created.id, email);
      return;
    }
    const existing = await this.findByEmail(email);
    if (!existing) return; // deleted between the two statements: nothing to tell anyone
    if (!existing.isActive) {
      await this.sendActivation(existing.id, existing.email);
      return;
    }
    const { frontendUrl, loginPath, forgotPasswordPath } = this.deps.config;
    this.mail({
      kind: "account-exists",
      to: existing.email,
      loginLink: `${frontendUrl}${loginPath}`,
      resetLink: `${frontendUrl}${forgotPasswordPath}`,
    });
  }

  /** Consumes an activation link; true when the account is now active. */
  async activate(uidb64: string, token: string): Promise<boolean> {
    const userId = decodeUid(uidb64);
    if (userId === null) return false;
    return this.deps.db.transaction(async (tx) => {
      const consumed = await this.consumeToken(tx, userId, token, "activation");
      if (!consumed) return false;
      await tx.update(users).set({ isActive: true }).where(eq(users.id, userId));
      return true;
    });
  }

  /**
   * Checks the credentials; unknown address, wrong password and inactive account all fail with one
   * message after the same password-hash work, so neither the answer nor its timing tells them apart.
   */
  async login(input: { email: string; password: string }, ip: string): Promise<IssuedSession> {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("login", "ip", ip);
    const email = input.email.trim();
    await rateLimiter.hit("login", "account", email);
    // Not the full email pattern: the configured admin's address (e.g. admin@localhost) may not match it.
    const user = isLookupable(email) ? await this.findByEmail(email) : undefined;
    const passwordMatches = user
      ? await verifyPassword(input.password, user.passwordHash)
      : await verifyAgainstDecoy(input.password);
    if (!user || !passwordMatches || !user.isActive) throw badRequest({ detail: LOGIN_FAILED });
    await this.deps.db.update(users).set({ lastLoginAt: this.deps.clock.now() }).where(eq(users.id, user.id));
    return this.issueSession(user, crypto.randomUUID());
  }

  /**
   * Rotates a refresh token: the presented one is marked rotated and a new one joins its family.
   * A token presented after it was rotated means it leaked, so its whole family is revoked.
   */
  async refresh(presented: string | undefined, ip: string): Promise<IssuedSession> {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("refresh", "ip", ip);
    if (!presented || presented.length > 256) throw unauthorized("Refresh token missing.");
    // The account's limit is checked before rotating: a refusal after the rotation would leave the
    // client holding a rotated token, and its next try would look like reuse and end the session.
    const owner = await this.refreshTokenOwner(presented);
    if (owner !== undefined) await rateLimiter.hit("refresh", "account", String(owner));
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
      return { user, familyId: row.familyId } as const;
    });
    if ("error" in outcome) {
      if (outcome.reuse !== undefined) {
        this.deps.log.warn({ userId: outcome.reuse }, "refresh token reuse detected; session family revoked");
      }
      throw unauthorized(outcome.error);
    }
    return this.issueSession(outcome.user, outcome.familyId);
  }

  /** The user id a refresh token was issued to, whatever its state; undefined for an unknown token. */
  private async refreshTokenOwner(presented: string): Promise<number | undefined> {
    const [row] = await this.deps.db
      .select({ userId: refreshTokens.userId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)));
    return row?.userId;
  }

  /** Revokes the session (the refresh token's family) the presented token belongs to, if any. */
  async logout(presented: string | undefined): Promise<void> {
    if (!presented || presented.length > 256) return;
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

  /** Mails a reset link when the address has an account; the answer is the same either way. */
  async requestPasswordReset(input: { email: string }, ip: string): Promise<void> {
    const { rateLimiter, config, db, clock } = this.deps;
    await rateLimiter.hit("passwordReset", "ip", ip);
    const email = input.email.trim();
    const badEmail = emailProblem(email);
    if (badEmail) throw badRequest({ email: [badEmail] });
    await rateLimiter.hit("passwordReset", "account", email);
    const user = await this.findByEmail(email);
    if (!user) return;
    // A new link replaces any earlier one that is still unused.
    await db
      .update(oneTimeTokens)
      .set({ usedAt: clock.now() })
      .where(
        and(
          eq(oneTimeTokens.userId, user.id),
          eq(oneTimeTokens.purpose, "password_reset"),
          isNull(oneTimeTokens.usedAt),
        ),
      );
    const token = await this.createToken(user.id, "password_reset", config.passwordResetTokenTtlSeconds);
    this.mail({
      kind: "password-reset",
      to: user.email,
      link: this.link(config.passwordResetPath, user.id, token),
    });
  }

  /**
   * Sets a new password from a reset link. The link proves the address is the user's, so the account
   * is also activated; every session of the user is revoked.
   */
  async confirmPasswordReset(
    uidb64: string,
    token: string,
    input: { new_password: string; confirm_password: string },
  ): Promise<void> {
    const { db, clock } = this.deps;
    const userId = decodeUid(uidb64);
    const invalidLink = () => badRequest({ detail: INVALID_LINK });
    if (userId === null) throw invalidLink();
    const [user] = await db.select().from(users).where(eq(users.id, userId));
    if (!user || !(await this.tokenIsUsable(userId, token, "password_reset"))) throw invalidLink();

    const errors: FieldErrors = {};
    for (const problem of passwordProblems(input.new_password, user.email))
      addProblem(errors, "new_password", problem);
    if (input.new_password !== input.confirm_password) {
      addProblem(errors, "confirm_password", "Passwords do not match.");
    }
    if (Object.keys(errors).length > 0) throw badRequest(errors);

    const passwordHash = await hashPassword(input.new_password);
    const changed = await db.transaction(async (tx) => {
      if (!(await this.consumeToken(tx, userId, token, "password_reset"))) return false;
      await tx.update(users).set({ passwordHash, isActive: true }).where(eq(users.id, userId));
      await tx
        .update(refreshTokens)
        .set({ revokedAt: clock.now() })
        .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
      return true;
    });
    if (!changed) throw invalidLink();
  }

  private async issueSession(user: User, familyId: string): Promise<IssuedSession> {
    const { db, accessTokens, clock, config } = this.deps;
    const sessionUser: SessionUser = { id: user.id, email: user.email, isAdmin: user.isAdmin };
    const refreshToken = newSecret();
    await db.insert(refreshTokens).values({
      userId: user.id,
      familyId,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(clock.now().getTime() + config.refreshTokenTtlSeconds * 1000),
    });
    return { user: sessionUser, accessToken: await accessTokens.sign(sessionUser), refreshToken };
  }

  private async findByEmail(email: string): Promise<User | undefined> {
    const [user] = await this.deps.db.select().from(users).where(byEmail(email)).limit(1);
    return user;
  }

  private async sendActivation(userId: number, email: string) {
    const { config } = this.deps;
    const token = await this.createToken(userId, "activation", config.activationTokenTtlSeconds);
    this.mail({ kind: "activation", to: email, link: this.link(config.activationPath, userId, token) });
  }

  private async createToken(
    userId: number,
    purpose: OneTimeTokenPurpose,
    ttlSeconds: number,
  ): Promise<string> {
    const token = newSecret();
    await this.deps.db.insert(oneTimeTokens).values({
      userId,
      purpose,
      tokenHash: hashSecret(token),
      expiresAt: new Date(this.deps.clock.now().getTime() + ttlSeconds * 1000),
    });
    return token;
  }

  private async tokenIsUsable(userId: number, token: string, purpose: OneTimeTokenPurpose): Promise<boolean> {
    const [row] = await this.deps.db
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(this.usableToken(userId, token, purpose));
    return row !== undefined;
  }

  /** Marks a usable token used in one statement, so two concurrent uses cannot both succeed. */
  private async consumeToken(
    tx: Pick<Database, "update">,
    userId: number,
    token: string,
    purpose: OneTimeTokenPurpose,
  ): Promise<boolean> {
    const consumed = await tx
      .update(oneTimeTokens)
      .set({ usedAt: this.deps.clock.now() })
      .where(this.usableToken(userId, token, purpose))
      .returning({ id: oneTimeTokens.id });
    return consumed.length === 1;
  }

  private usableToken(userId: number, token: string, purpose: OneTimeTokenPurpose) {
    return and(
      eq(oneTimeTokens.userId, userId),
      eq(oneTimeTokens.tokenHash, hashSecret(token.slice(0, 256))),
      eq(oneTimeTokens.purpose, purpose),
      isNull(oneTimeTokens.usedAt),
      gt(oneTimeTokens.expiresAt, this.deps.clock.now()),
    );
  }

  private link(path: string, userId: number, token: string): string {
    const query = new URLSearchParams({ uid: encodeUid(userId), token });
    return `${this.deps.config.frontendUrl}${path}?${query}`;
  }

  /** Mails leave after the answer, so both branches of register and reset answer in the same time. */
  private mail(email: AccountEmail): void {
    this.deps.background.run(`mail:${email.kind}`, () => this.deps.mailer.send(email));
  }
}
