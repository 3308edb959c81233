// A signed-in account that is not an administrator: what the studio is, why it is closed to them, and
// the way out (sign out, to sign in with another account).
import { Brand } from "../ui/shell.tsx";

export function NoAccessPage({
  email,
  onSignOut,
  signingOut,
}: {
  email: string;
  onSignOut: () => void;
  signingOut: boolean;
}) {
  return (
    <main className="centered" id="main">
      <div className="card card-narrow no-access">
        <Brand />
        <div className="no-access-icon" aria-hidden="true">
          <svg viewBox="0 0 24 24" width="28" height="28" focusable="false" aria-hidden="true">
            <path
              fill="currentColor"
              d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5Zm-3 5a3 3 0 1 1 6 0v3H9V7Z"
            />
          </svg>
        </div>
        <h1 className="card-title">No access to the studio</h1>
        <p className="card-lede">
          You are signed in as <strong>{email}</strong>, which is not an administrator account. The studio is
          where administrators manage videos; ask one to grant you access, or sign in with another account.
        </p>
        <button
          type="button"
          className="button button-primary button-wide"
          onClick={onSignOut}
          disabled={signingOut}
        >
          {signingOut ? "Signing out…" : "Sign out"}
        </button>
      </div>
    </main>
  );
}
