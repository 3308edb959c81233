// One account: its address (and "You" on your own), whether it is active and an admin, when it last
// signed in (how long ago, and the moment), when it was made, and its actions. A card on a phone.
import type { AdminUser } from "../api/types.ts";
import { formatDate, formatTime } from "../ui/format.ts";
import { timeAgo } from "../ui/relative-time.ts";
import { ACTION_LABELS, type AccountAction, actionsFor } from "./user-rules.ts";

function Moment({ iso, now }: { iso: string; now: Date }) {
  return (
    <time className="moment" dateTime={iso} title={`${formatDate(iso)} ${formatTime(iso)}`}>
      <span>{timeAgo(iso, now)}</span>
      <span className="muted">
        {formatDate(iso)}, {formatTime(iso)}
      </span>
    </time>
  );
}

export function UserRow({
  user,
  isSelf,
  now,
  busy,
  onAction,
  onSessions,
}: {
  user: AdminUser;
  isSelf: boolean;
  now: Date;
  /** A change to this account is under way. */
  busy: boolean;
  onAction: (action: AccountAction) => void;
  onSessions: () => void;
}) {
  const [activeAction, adminAction] = actionsFor(user);
  return (
    <tr className="user-row" data-user-id={user.id} data-active={user.is_active} data-admin={user.is_admin}>
      <th scope="row" className="cell-email">
        <span className="user-email">{user.email}</span>
        {isSelf && <span className="badge badge-self">You</span>}
      </th>
      <td className="cell-status" data-label="Status">
        {user.is_active ? (
          <span className="badge badge-ready">Active</span>
        ) : (
          <span className="badge badge-inactive">Inactive</span>
        )}
      </td>
      <td className="cell-role" data-label="Role">
        {user.is_admin ? (
          <span className="badge badge-admin">Admin</span>
        ) : (
          <span className="muted">Viewer</span>
        )}
      </td>
      <td className="cell-last-login" data-label="Last sign-in">
        {user.last_login_at ? (
          <Moment iso={user.last_login_at} now={now} />
        ) : (
          <span className="muted">Never</span>
        )}
      </td>
      <td className="cell-joined" data-label="Created">
        <time dateTime={user.created_at}>{formatDate(user.created_at)}</time>
      </td>
      <td className="cell-actions">
        <div className="row-actions">
          {/* Keyed by slot, not by action: Deactivate turns into Activate on the same button, and the
              keyboard's focus stays on it. aria-disabled keeps a busy button focusable. */}
          {(
            [
              ["active", activeAction],
              ["admin", adminAction],
            ] as const
          ).map(([slot, action]) => (
            <button
              key={slot}
              type="button"
              className={`button button-small${action === "deactivate" || action === "revoke-admin" ? " button-danger-quiet" : ""}`}
              onClick={() => {
                if (!busy) onAction(action);
              }}
              aria-disabled={busy || undefined}
              aria-label={`${ACTION_LABELS[action]}: ${user.email}`}
            >
              {ACTION_LABELS[action]}
            </button>
          ))}
          <button
            type="button"
            className="button button-small"
            onClick={onSessions}
            aria-label={`Sessions of ${user.email}`}
          >
            Sessions
          </button>
        </div>
      </td>
    </tr>
  );
}
