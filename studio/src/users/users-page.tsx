// The accounts: search and filter them, page through them (the api's keyset pages), activate or
// deactivate, grant or revoke admin (confirmed; your own account deliberately), and see or end each
// one's sessions.
import "./users.css";
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminUser, SignedInUser } from "../api/types.ts";
import { AccountChangeDialog, type PendingChange } from "./account-change.tsx";
import { SessionsDialog } from "./sessions-dialog.tsx";
import { UsersToolbar } from "./toolbar.tsx";
import { useUsers } from "./use-users.ts";
import { pagerShown } from "./user-pages.ts";
import { UserRow } from "./user-row.tsx";
import {
  ACCOUNT_CHANGES,
  type AccountAction,
  accountRefusal,
  changedSentence,
  confirmationFor,
  isUserFiltered,
  NO_USER_FILTERS,
  ownChangeNotice,
  type UserFilters,
} from "./user-rules.ts";

/** "5 minutes ago" stays true: the page's clock moves on once a minute. */
function useMinuteClock(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function UsersPage({ api, me }: { api: ApiClient; me: SignedInUser }) {
  const [filters, setFilters] = useState<UserFilters>(NO_USER_FILTERS);
  const users = useUsers(api, filters);
  const now = useMinuteClock();
  const [pending, setPending] = useState<PendingChange | null>(null);
  // The accounts with a change under way: a ref to refuse a second send at once, a state to show it.
  const inFlight = useRef(new Set<number>());
  const [changing, setChanging] = useState<ReadonlySet<number>>(new Set());
  const [sessionsOf, setSessionsOf] = useState<AdminUser | null>(null);
  const [status, setStatus] = useState<{ text: string; error: boolean }>({ text: "", error: false });
  const { state, replace } = users;

  /** Sends the change; a refusal comes back as an Error carrying the studio's sentence. */
  const send = useCallback(
    async (user: AdminUser, action: AccountAction, confirmSelf: boolean) => {
      if (inFlight.current.has(user.id)) return;
      inFlight.current.add(user.id);
      setChanging(new Set(inFlight.current));
      try {
        const body = { ...ACCOUNT_CHANGES[action], ...(confirmSelf ? { confirm_self: true } : {}) };
        const updated = await api.patch<AdminUser>(`/api/admin/users/${user.id}`, body);
        replace(updated);
        setStatus({ text: changedSentence(updated, action), error: false });
        // Your own right or account is gone, and every session with it: back to the sign-in page.
        const notice = user.id === me.id ? ownChangeNotice(action) : null;
        if (notice) api.sessionEnded(notice);
      } catch (error) {
        throw new Error(accountRefusal(error));
      } finally {
        inFlight.current.delete(user.id);
        setChanging(new Set(inFlight.current));
      }
    },
    [api, me.id, replace],
  );

  const act = (user: AdminUser, action: AccountAction) => {
    if (inFlight.current.has(user.id)) return;
    if (confirmationFor(user, action, user.id === me.id) === null) {
      send(user, action, false).catch((error: Error) =>
        setStatus({ text: `${user.email} was not activated. ${error.message}`, error: true }),
      );
      return;
    }
    setPending({ user, action, isSelf: user.id === me.id });
  };

  const filtered = isUserFiltered(filters);
  return (
    <main className="page" id="main">
      <div className="page-header">
        <div>
          <h1>Users</h1>
          <p className="page-lede">
            Every account: who may sign in, who runs the studio, and their sessions.
          </p>
        </div>
      </div>
      <UsersToolbar filters={filters} onChange={setFilters} />
      <p className={`action-status${status.error ? " action-status-error" : ""}`} role="status">
        {status.text}
      </p>
      <section className="table-card" aria-label="Users" aria-busy={state.status === "loading"}>
        {state.status === "error" ? (
          <div className="empty empty-error" role="alert">
            <h2>The users could not be loaded</h2>
            <p>{state.error}</p>
            <button type="button" className="button" onClick={users.reload}>
              Try again
            </button>
          </div>
        ) : state.users.length === 0 && state.status === "loading" ? (
          <div className="empty empty-loading">
            <p>Loading the users…</p>
          </div>
        ) : state.users.length === 0 ? (
          <div className="empty">
            <h2>{filtered ? "No users match" : "No users yet"}</h2>
            <p>
              {filtered
                ? "No account fits this search and these filters."
                : "Accounts appear here once people register."}
            </p>
            {filtered && (
              <button type="button" className="button" onClick={() => setFilters(NO_USER_FILTERS)}>
                Clear filters
              </button>
            )}
          </div>
        ) : (
          <table className="data-table users-table">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Status</th>
                <th scope="col">Role</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.users.map((user) => (
                <UserRow
                  key={user.id}
                  user={user}
                  isSelf={user.id === me.id}
                  now={now}
                  busy={changing.has(user.id)}
                  onAction={(action) => act(user, action)}
                  onSessions={() => setSessionsOf(user)}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {pagerShown(state) && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            className="button button-quiet"
            onClick={users.previousPage}
            disabled={state.pageIndex === 0 || state.status === "loading"}
          >
            ← Previous
          </button>
          <span className="pager-label">Page {state.pageIndex + 1}</span>
          <button
            type="button"
            className="button button-quiet"
            onClick={users.nextPage}
            disabled={state.nextAfter === null || state.status === "loading"}
          >
            Next →
          </button>
        </nav>
      )}
      <AccountChangeDialog
        pending={pending}
        onConfirm={(change, confirmSelf) => send(change.user, change.action, confirmSelf)}
        onClose={() => setPending(null)}
      />
      <SessionsDialog
        api={api}
        user={sessionsOf}
        isSelf={sessionsOf?.id === me.id}
        onRevoked={(user) => setStatus({ text: `Every session of ${user.email} ended.`, error: false })}
        onClose={() => setSessionsOf(null)}
      />
    </main>
  );
}
