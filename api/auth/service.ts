import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { byCanonicalEmail, type User, users } from "../../db/schema/index.ts";
import type { Mailer } from "../../emails/mailer.ts";
import type { AccountEmail } from "../../emails/render.ts";
import type { AvailableDialect } from "../config/compat.ts";
import type { Config } from "../config/load.ts";
import { badRequest, unauthorized } from "../http/errors.ts";
import { type AccountLinks, courseLinks } from "../shared/account-links.ts";
import type { BackgroundTasks } from "../shared/background-tasks.ts";
import type { Clock } from "../shared/clock.ts";
import { canonicalEmail, INVALID_EMAIL, isRegistrableEmail } from "./email-address.ts";
import { OneTimeTokens } from "./one-time-tokens.ts";
import { hashPassword, passwordProblems, verifyAgainstDecoy, verifyPassword } from "./passwords.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import {
  type IssuedSession,
  presentedTooLong,
  type RefreshSessions,
  type SessionClient,
  type SessionDialect,
} from "./refresh-sessions.ts";
import { decodeUid, encodeUid } from "./secrets.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

export interface AccountDeps {
  config: Config;
  db: Database;
  mailer: Mailer;
  accessTokens: AccessTokens;
  rateLimiter: RateLimiter;
  background: BackgroundTasks;
  clock: Clock;
  log: Logger;
  /** The sessions behind the refresh cookie, shared with the sessions endpoints. */
  sessions: RefreshSessions;
}

export const LOGIN_FAILED = "Please check your input and try again.";
const INVALID_LINK = "The link is invalid or has expired.";

type FieldErrors = Record<string, string[]>;

function addProblem(errors: FieldErrors, field: string, message: string) {
  errors[field] = [...(errors[field] ?? []), message];
}

/** The canonical address, or null when it may not be registered or mailed. */
function registrableEmail(typed: string): string | null {
  const canonical = canonicalEmail(typed);
  return canonical !== null && isRegistrableEmail(canonical) ? canonical : null;
}

/**
 * Accounts: registration and activation, login and refresh, password reset, without enumeration. The
 * mails link to the pages of the client that asked (the course client's unless a route says otherwise).
 */
export class AccountService {
  private readonly links: OneTimeTokens;
  private readonly sessions: RefreshSessions;
  private readonly courseLinks: AccountLinks;

  constructor(private readonly deps: AccountDeps) {
    this.links = new OneTimeTokens(deps);
    this.sessions = deps.sessions;
    this.courseLinks = courseLinks(deps.config);
  }

  /**
   * Creates an inactive account and mails its activation link. An address that is already registered
   * gets the same answer, and its owner a notice instead (or a fresh activation link if the account
   * was never activated), so the endpoint tells nobody which addresses have accounts.
   */
  async register(
    input: { email: string; password: string; confirmed_password: string },
    ip: string,
    links: AccountLinks = this.courseLinks,
  ) {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("register", "ip", ip);
    const email = registrableEmail(input.email);
    const errors: FieldErrors = {};
    if (email === null) addProblem(errors, "email", INVALID_EMAIL);
    for (const problem of passwordProblems(input.password, email ?? input.email.trim())) {
      addProblem(errors, "password", problem);
    }
    if (input.password !== input.confirmed_password) {
      addProblem(errors, "confirmed_password", "Passwords do not match.");
    }
    if (email === null || Object.keys(errors).length > 0) throw badRequest(errors);
    await rateLimiter.hit("register", "account", email);

    const passwordHash = await hashPassword(input.password);
    const [created] = await this.deps.db
      .insert(users)
      .values({ email, passwordHash })
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (created) {
      await this.sendActivation(created.id, email, links);
      return;
    }
    const existing = await this.findByEmail(email);
    if (!existing) return; // deleted between the two statements: nothing to tell anyone
    if (!existing.isActive) {
      await this.sendActivation(existing.id, existing.email, links);
      return;
    }
    this.mail({
      kind: "account-exists",
      to: existing.email,
      loginLink: links({ kind: "login" }),
      resetLink: links({ kind: "forgot-password" }),
    });
  }

  /**
   * Whether an account (activated or not) has the address: the content dialect's sign-up and forgot
   * forms cannot submit without it, so it answers truthfully, unlike every other route here. A lookup
   * reveals what a login attempt probes, so it spends one of the client address's login attempts.
   */
  async emailExists(typed: string, ip: string): Promise<boolean> {
    await this.deps.rateLimiter.hit("login", "ip", ip);
    const email = canonicalEmail(typed);
    if (email === null || email === "") throw badRequest({ email: [INVALID_EMAIL] });
    return (await this.findByEmail(email)) !== undefined;
  }

  /** Consumes an activation link; true when the account is now active. */
  async activate(uidb64: string, token: string): Promise<boolean> {
    const userId = decodeUid(uidb64);
    if (userId === null) return false;
    return this.deps.db.transaction(async (tx) => {
      const consumed = await this.links.consume(tx, userId, token, "activation");
      if (!consumed) return false;
      await tx.update(users).set({ isActive: true }).where(eq(users.id, userId));
      return true;
    });
  }

  /**
   * Checks the credentials; unknown address, wrong password and inactive account all fail with one
   * message after the same password-hash work, so neither the answer nor its timing tells them apart.
   * The account's limit counts failures: every attempt takes a place (so parallel guesses cannot
   * overrun it) and a successful one gives it back, so logging in often never locks an account.
   * `sessionTtlSeconds` (default REFRESH_TOKEN_TTL) is how long the session's refresh token lasts.
   */
  async login(
    input: { email: string; password: string },
    client: SessionClient,
    dialect: SessionDialect = null,
    sessionTtlSeconds?: number,
  ): Promise<IssuedSession> {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("login", "ip", client.ip);
    // Not the full email pattern: the configured admin's address (e.g. admin@localhost) may not match it.
    const email = canonicalEmail(input.email);
    const account = email ?? input.email.trim();
    await rateLimiter.hit("login", "account", account);
    let credentialsFailed = false;
    try {
      const user = email === null ? undefined : await this.findByEmail(email);
      const passwordMatches = user
        ? await verifyPassword(input.password, user.passwordHash)
        : await verifyAgainstDecoy(input.password);
      if (!user || !passwordMatches || !user.isActive) {
        credentialsFailed = true;
        throw badRequest({ detail: LOGIN_FAILED });
      }
      await this.deps.db
        .update(users)
        .set({ lastLoginAt: this.deps.clock.now() })
        .where(eq(users.id, user.id));
      return await this.sessions.issue(user, client, dialect, sessionTtlSeconds);
    } finally {
      // Only wrong credentials count: a login that succeeded, or that PostgreSQL's outage cut short
      // (a 503), gives its place back, so an outage never locks the accounts people kept trying.
      if (!credentialsFailed) await rateLimiter.refund("login", "account", account).catch(() => {});
    }
  }

  /**
   * Rotates a refresh token: the presented one is marked rotated and a new one joins its family.
   * Presented again within the grace window it yields the same successor; later, it means it leaked,
   * so its whole family is revoked.
   */
  async refresh(
    presented: string | undefined,
    client: SessionClient,
    dialect: SessionDialect = null,
  ): Promise<IssuedSession> {
    const token = await this.limitRefresh(presented, client);
    return this.sessions.rotate(token, client, dialect);
  }

  /**
   * A new access token for a dialect whose client keeps re-sending the refresh token of its login:
   * the session's token is checked like a rotation's but not rotated. Limited like a refresh.
   */
  async renewAccess(
    presented: string | undefined,
    client: SessionClient,
    dialect: AvailableDialect,
  ): Promise<IssuedSession> {
    const token = await this.limitRefresh(presented, client);
    return this.sessions.renewAccess(token, dialect);
  }

  /** The refresh limits; 401 for a missing or oversized token. Returns the token. */
  private async limitRefresh(presented: string | undefined, client: SessionClient): Promise<string> {
    const { rateLimiter } = this.deps;
    await rateLimiter.hit("refresh", "ip", client.ip);
    if (!presented || presentedTooLong(presented)) throw unauthorized("Refresh token missing.");
    // The account's limit is checked before rotating: a refusal after the rotation would leave the
    // client holding a rotated token, and its next try would look like reuse and end the session.
    const owner = await this.sessions.ownerOf(presented);
    if (owner !== undefined) await rateLimiter.hit("refresh", "account", String(owner));
    return presented;
  }

  /**
   * Ends the session of the refresh cookie and that of the access token (the same one, unless the
   * browser holds cookies of two logins): their tokens are refused and their WebSockets closed on every
   * replica. Either may be missing; only a token that verifies names a session to end.
   */
  async logout(presented: string | undefined, accessTokenUser: SessionUser | null): Promise<void> {
    const ended = await this.sessions.revokeSessionOf(presented);
    if (accessTokenUser && accessTokenUser.sessionId !== ended)
      await this.sessions.revokeSession(accessTokenUser.id, accessTokenUser.sessionId);
  }

  /**
   * Mails a reset link when the address has an account; the answer is the same either way. The
   * lookup, the token writes and the mail happen after the answer, so the request does the same
   * work, and takes as long, for known and unknown addresses.
   */
  async requestPasswordReset(
    input: { email: string },
    ip: string,
    links: AccountLinks = this.courseLinks,
  ): Promise<void> {
    const { rateLimiter, background } = this.deps;
    await rateLimiter.hit("passwordReset", "ip", ip);
    const email = registrableEmail(input.email);
    if (email === null) throw badRequest({ email: [INVALID_EMAIL] });
    await rateLimiter.hit("passwordReset", "account", email);
    background.run("password-reset", () => this.sendPasswordReset(email, links));
  }

  private async sendPasswordReset(email: string, links: AccountLinks): Promise<void> {
    const { config, mailer } = this.deps;
    const user = await this.findByEmail(email);
    if (!user) return;
    // A new link replaces any earlier one that is still unused.
    await this.links.revokeUnused(user.id, "password_reset");
    const token = await this.links.create(user.id, "password_reset", config.passwordResetTokenTtlSeconds);
    // Already in the background: sent here rather than queued as a second task.
    await mailer.send({
      kind: "password-reset",
      to: user.email,
      link: links({ kind: "password-reset", uid: encodeUid(user.id), token }),
    });
  }

  /** Whether a reset link can still be used, without using it (for a client that checks first). */
  async isPasswordResetUsable(uidb64: string, token: string): Promise<boolean> {
    const userId = decodeUid(uidb64);
    return userId !== null && this.links.isUsable(userId, token, "password_reset");
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
    const { db } = this.deps;
    const userId = decodeUid(uidb64);
    const invalidLink = () => badRequest({ detail: INVALID_LINK });
    if (userId === null) throw invalidLink();
    const [user] = await db.select().from(users).where(eq(users.id, userId));
    if (!user || !(await this.links.isUsable(userId, token, "password_reset"))) throw invalidLink();

    const errors: FieldErrors = {};
    for (const problem of passwordProblems(input.new_password, user.email))
      addProblem(errors, "new_password", problem);
    if (input.new_password !== input.confirm_password) {
      addProblem(errors, "confirm_password", "Passwords do not match.");
    }
    if (Object.keys(errors).length > 0) throw badRequest(errors);

    const passwordHash = await hashPassword(input.new_password);
    const revoked = await db.transaction(async (tx) => {
      if (!(await this.links.consume(tx, userId, token, "password_reset"))) return null;
      await tx.update(users).set({ passwordHash, isActive: true }).where(eq(users.id, userId));
      return this.sessions.revokeAllOf(tx, userId);
    });
    if (!revoked) throw invalidLink();
    await revoked();
  }

  private async findByEmail(canonical: string): Promise<User | undefined> {
    const [user] = await this.deps.db.select().from(users).where(byCanonicalEmail(canonical)).limit(1);
    return user;
  }

  private async sendActivation(userId: number, email: string, links: AccountLinks) {
    const { config } = this.deps;
    const token = await this.links.create(userId, "activation", config.activationTokenTtlSeconds);
    const link = links({ kind: "activation", uid: encodeUid(userId), token });
    this.mail({ kind: "activation", to: email, link });
  }

  /** Mails leave after the answer, so both branches of register and reset answer in the same time. */
  private mail(email: AccountEmail): void {
    this.deps.background.run(`mail:${email.kind}`, () => this.deps.mailer.send(email));
  }
}
