// What admins do to accounts: find them (search, keyset pages), activate or deactivate them, grant or
// revoke admin, end their sessions. Two rules keep the service administrable: the last active admin
// is never demoted or deactivated, and an admin changes their own account only when the request says
// so (`confirm_self`). Every change writes an audit line.
import { and, asc, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { type User, users } from "../../db/schema/index.ts";
import { ApiError, badRequest, notFound } from "../http/errors.ts";
import type { AuditActor, AuditLog } from "../shared/audit.ts";
import { likePattern } from "../shared/like-pattern.ts";
import type { RefreshSessions } from "./refresh-sessions.ts";
import type { ActiveSession, SessionService } from "./sessions.ts";

export type AdminUser = Pick<User, "id" | "email" | "isActive" | "isAdmin" | "createdAt" | "lastLoginAt">;

export interface UserFilter {
  /** Part of the address, any case; `%` and `_` are literal. */
  q?: string;
  isAdmin?: boolean;
  isActive?: boolean;
}

export interface UserPage {
  users: AdminUser[];
  /** The id to pass as `after` for the next page; null on the last one. */
  nextAfter: number | null;
}

export interface AccountChange {
  isActive?: boolean;
  isAdmin?: boolean;
  /** The admin means to demote or deactivate their own account. */
  confirmSelf?: boolean;
}

const columns = {
  id: users.id,
  email: users.email,
  isActive: users.isActive,
  isAdmin: users.isAdmin,
  createdAt: users.createdAt,
  lastLoginAt: users.lastLoginAt,
};

const LAST_ADMIN =
  "This is the last active admin: grant admin to another active account first, or nobody could administer the service.";
const NOT_ADMIN = "Your account is no longer an active admin, so it may not change accounts.";
const SELF =
  "This is your own account: send `confirm_self: true` with the change to demote or deactivate yourself.";

export class UserAdminService {
  constructor(
    private readonly deps: {
      db: Database;
      refreshSessions: RefreshSessions;
      sessions: SessionService;
      audit: AuditLog;
    },
  ) {}

  /**
   * One page of accounts, newest first, keyset-paginated by id (the primary key's order: a page costs
   * the same however deep it is). `q` goes through the trigram index of the addresses.
   */
  async page(filter: UserFilter, limit: number, after?: number): Promise<UserPage> {
    const conditions: SQL[] = [];
    const q = filter.q?.trim();
    if (q?.includes("\0")) throw badRequest({ q: ["Must not contain NUL characters."] });
    if (q) conditions.push(sql`lower(${users.email}) like ${likePattern(q.toLowerCase())}`);
    if (filter.isAdmin !== undefined) conditions.push(eq(users.isAdmin, filter.isAdmin));
    if (filter.isActive !== undefined) conditions.push(eq(users.isActive, filter.isActive));
    if (after !== undefined) conditions.push(lt(users.id, after));
    const rows = await this.deps.db
      .select(columns)
      .from(users)
      .where(and(...conditions))
      .orderBy(desc(users.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return { users: page, nextAfter: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  async get(id: number): Promise<AdminUser> {
    const [user] = await this.deps.db.select(columns).from(users).where(eq(users.id, id));
    if (!user) throw notFound("No such user.");
    return user;
  }

  /** The user's live sessions, as the user sees them in GET /api/sessions/; 404 for an unknown user. */
  async sessionsOf(id: number): Promise<ActiveSession[]> {
    await this.get(id);
    return this.deps.sessions.list(id);
  }

  /**
   * Ends every session of the user at once (the revocation epochs); the account stays usable. 403
   * `not_admin` when the actor stopped being an active admin before it ran, as for `update`.
   */
  async revokeSessions(actor: AuditActor, id: number): Promise<void> {
    const announce = await this.deps.db.transaction(async (tx) => {
      await this.lockActiveAdmins(tx, actor);
      const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, id)).for("update");
      return user ? this.deps.refreshSessions.revokeAllOf(tx, id) : null;
    });
    if (!announce) throw notFound("No such user.");
    await announce();
    this.deps.audit("user.sessions_revoked", actor, { user_id: id });
  }

  /**
   * Every active admin, locked in id order by every change (grants too), so that changes to admins run
   * one at a time. An actor demoted or deactivated since the request was let in is not among them (a
   * waiter re-reads the rows the holder committed): 403 `not_admin`. Of two admins demoting each other
   * at once, the second is refused so; two demoting a third see the count that the first left.
   */
  private async lockActiveAdmins(
    tx: Pick<Database, "select">,
    actor: AuditActor,
  ): Promise<Array<{ id: number }>> {
    const activeAdmins = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.isAdmin, true), eq(users.isActive, true)))
      .orderBy(asc(users.id))
      .for("update");
    if (!activeAdmins.some((admin) => admin.id === actor.id)) {
      throw new ApiError(403, { detail: NOT_ADMIN, reason: "not_admin" });
    }
    return activeAdmins;
  }

  /**
   * Activates or deactivates the account, grants or revokes admin. Deactivation and demotion end every
   * session of the user at once: an access token says whether its holder is an admin, so a demoted
   * admin's tokens must die with the right; a promotion takes effect at the user's next refresh or
   * login. 409 for the last active admin, and for the admin's own account without `confirm_self`; 403
   * `not_admin` when the actor is no longer an active admin by the time the change runs (the loser of
   * two admins demoting each other at once, for one).
   */
  async update(actor: AuditActor, id: number, change: AccountChange): Promise<AdminUser> {
    if (change.isActive === undefined && change.isAdmin === undefined) {
      throw badRequest({ detail: "Send `is_active` and/or `is_admin`." });
    }
    const outcome = await this.deps.db.transaction(async (tx) => {
      const activeAdmins = await this.lockActiveAdmins(tx, actor);
      const [before] = await tx.select(columns).from(users).where(eq(users.id, id)).for("update");
      if (!before) return null;
      const deactivating = change.isActive === false && before.isActive;
      const demoting = change.isAdmin === false && before.isAdmin;
      if ((deactivating || demoting) && before.id === actor.id && change.confirmSelf !== true) {
        throw new ApiError(409, { detail: SELF, reason: "self" });
      }
      if ((deactivating || demoting) && before.isAdmin && before.isActive && activeAdmins.length <= 1) {
        throw new ApiError(409, { detail: LAST_ADMIN, reason: "last_admin" });
      }
      const [after] = await tx
        .update(users)
        .set({
          ...(change.isActive !== undefined ? { isActive: change.isActive } : {}),
          ...(change.isAdmin !== undefined ? { isAdmin: change.isAdmin } : {}),
        })
        .where(eq(users.id, id))
        .returning(columns);
      const announce = deactivating || demoting ? await this.deps.refreshSessions.revokeAllOf(tx, id) : null;
      return { before, after: after!, announce };
    });
    if (!outcome) throw notFound("No such user.");
    await outcome.announce?.();
    const { before, after } = outcome;
    const target = { user_id: after.id, user_email: after.email };
    if (before.isActive !== after.isActive) {
      this.deps.audit(after.isActive ? "user.activated" : "user.deactivated", actor, target);
    }
    if (before.isAdmin !== after.isAdmin) {
      this.deps.audit(after.isAdmin ? "user.admin_granted" : "user.admin_revoked", actor, target);
    }
    return after;
  }
}
