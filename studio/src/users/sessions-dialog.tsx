// A user's live sessions (when each began and was last used, from where, in what) and "Revoke all
// sessions" behind a second, explicit step in the same dialog. Ending your own includes this browser:
// the studio goes back to the sign-in page.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminSession, AdminUser } from "../api/types.ts";
import { keepFocusInside } from "../ui/dialog.tsx";
import { formatDate, formatTime } from "../ui/format.ts";
import { timeAgo } from "../ui/relative-time.ts";
import { ownChangeNotice } from "./user-rules.ts";

type Sessions =
  | { status: "loading" }
  | { status: "error"; error: string }
  | { status: "ready"; sessions: AdminSession[] };

const moment = (iso: string, now: Date) => `${timeAgo(iso, now)} · ${formatDate(iso)}, ${formatTime(iso)}`;

function SessionList({ sessions, now }: { sessions: AdminSession[]; now: Date }) {
  if (sessions.length === 0)
    return <p className="sessions-empty">No live sessions: the account is signed out everywhere.</p>;
  return (
    <ul className="session-list" aria-label="Live sessions">
      {sessions.map((session) => (
        <li key={session.id} className="session">
          <p className="session-agent">{session.user_agent ?? "Unknown browser or app"}</p>
          <dl className="session-facts">
            <div>
              <dt>Signed in</dt>
              <dd>
                <time dateTime={session.created_at}>{moment(session.created_at, now)}</time>
              </dd>
            </div>
            <div>
              <dt>Last used</dt>
              <dd>
                <time dateTime={session.last_used_at}>{moment(session.last_used_at, now)}</time>
              </dd>
            </div>
            <div>
              <dt>IP address</dt>
              <dd>{session.ip ?? "unknown"}</dd>
            </div>
          </dl>
        </li>
      ))}
    </ul>
  );
}

export function SessionsDialog({
  api,
  user,
  isSelf,
  onRevoked,
  onClose,
}: {
  api: ApiClient;
  /** Whose sessions; null: the dialog is closed. */
  user: AdminUser | null;
  isSelf: boolean;
  onRevoked: (user: AdminUser) => void;
  onClose: () => void;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const keepRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const confirmTextId = useId();
  const [sessions, setSessions] = useState<Sessions>({ status: "loading" });
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [shown, setShown] = useState<AdminUser | null>(user);
  if (user && user !== shown) setShown(user);
  const now = new Date();

  // One request at a time, for the user shown: a slow answer for an earlier opening (or an earlier
  // load of this one) is dropped, never shown over a newer one.
  const request = useRef<{ id: number; controller: AbortController } | null>(null);
  const load = useCallback(
    async (id: number) => {
      request.current?.controller.abort();
      const current = { id, controller: new AbortController() };
      request.current = current;
      setSessions({ status: "loading" });
      const stillWanted = () => request.current === current && !current.controller.signal.aborted;
      try {
        const listed = await api.get<AdminSession[]>(
          `/api/admin/users/${id}/sessions`,
          current.controller.signal,
        );
        if (stillWanted()) setSessions({ status: "ready", sessions: listed });
      } catch (error) {
        if (stillWanted()) {
          setSessions({ status: "error", error: error instanceof Error ? error.message : String(error) });
        }
      }
    },
    [api],
  );

  const userId = user?.id ?? null;
  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (userId !== null && !dialog.open) {
      setConfirming(false);
      setFailure(null);
      void load(userId);
      dialog.showModal();
      closeRef.current?.focus();
    } else if (userId === null && dialog.open) {
      request.current?.controller.abort();
      request.current = null;
      dialog.close();
    }
  }, [userId, load]);

  // The second step starts on "Keep them", so that Enter never ends anything by accident.
  useEffect(() => {
    if (confirming) keepRef.current?.focus();
  }, [confirming]);

  const revoke = async () => {
    if (!shown) return;
    setBusy(true);
    setFailure(null);
    try {
      await api.delete(`/api/admin/users/${shown.id}/sessions`);
      setConfirming(false);
      onRevoked(shown);
      if (isSelf) {
        api.sessionEnded(ownChangeNotice("revoke-sessions") ?? undefined);
        return;
      }
      await load(shown.id);
      closeRef.current?.focus();
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  const email = shown?.email ?? "";
  const count = sessions.status === "ready" ? sessions.sessions.length : null;
  return (
    <dialog
      ref={dialogRef}
      className="dialog dialog-wide"
      aria-labelledby={titleId}
      aria-describedby={confirming ? confirmTextId : undefined}
      onClose={onClose}
      onKeyDown={keepFocusInside}
      onCancel={(event) => {
        if (busy) event.preventDefault();
      }}
    >
      <h2 className="dialog-title" id={titleId}>
        Sessions of {email}
      </h2>
      <div className="sessions-body" aria-busy={sessions.status === "loading"}>
        {sessions.status === "loading" ? (
          <p className="muted">Loading the sessions…</p>
        ) : sessions.status === "error" ? (
          <div className="sessions-error">
            <p className="form-error" role="alert">
              The sessions could not be loaded: {sessions.error}
            </p>
            <button type="button" className="button button-small" onClick={() => shown && load(shown.id)}>
              Try again
            </button>
          </div>
        ) : (
          <SessionList sessions={sessions.sessions} now={now} />
        )}
      </div>
      {failure && (
        <p className="form-error dialog-failure" role="alert">
          {failure}
        </p>
      )}
      {confirming ? (
        <div className="sessions-confirm">
          <p id={confirmTextId}>
            End every session of {email}? They are signed out on every device at once and can sign in again.
            {isSelf && " This includes this browser: you will be signed out of the studio."}
          </p>
          <div className="dialog-actions">
            <button
              ref={keepRef}
              type="button"
              className="button"
              onClick={() => setConfirming(false)}
              disabled={busy}
              aria-describedby={confirmTextId}
            >
              Keep them
            </button>
            <button type="button" className="button button-danger" onClick={revoke} disabled={busy}>
              {busy ? "Revoking…" : "Revoke all sessions"}
            </button>
          </div>
        </div>
      ) : (
        <div className="dialog-actions">
          <button
            type="button"
            className="button button-danger-quiet"
            onClick={() => setConfirming(true)}
            disabled={count === 0 || sessions.status !== "ready"}
          >
            Revoke all sessions…
          </button>
          <button ref={closeRef} type="button" className="button" onClick={onClose}>
            Close
          </button>
        </div>
      )}
    </dialog>
  );
}
