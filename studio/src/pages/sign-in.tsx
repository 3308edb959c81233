// Sign in with the admin's account: POST /api/login/ sets the session cookies, then /api/me/ says who.
import { type FormEvent, useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import type { SignedInUser } from "../api/types.ts";
import { Brand } from "../ui/shell.tsx";

/**
 * The api answers wrong email, wrong password and inactive account alike (a 400 with `detail`), in the
 * Videoflix clients' words; the studio says what that means here. Field errors and 429 keep the api's.
 */
function signInFailure(error: unknown): string {
  if (error instanceof ApiRequestError && error.status === 400) {
    const body = error.body as Record<string, unknown> | null;
    if (body && Object.keys(body).length === 1 && typeof body.detail === "string") {
      return "The email or the password is not right, or the account is not active.";
    }
  }
  return error instanceof Error ? error.message : String(error);
}

export function SignInPage({
  api,
  notice,
  onSignedIn,
}: {
  api: ApiClient;
  notice: string | null;
  onSignedIn: (user: SignedInUser) => void;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      await api.post("/api/login/", { email: email.trim(), password });
      onSignedIn(await api.get<SignedInUser>("/api/me/"));
    } catch (error) {
      setFailure(signInFailure(error));
      setBusy(false);
    }
  };

  return (
    <main className="centered" id="main">
      <div className="card card-narrow">
        <Brand />
        <h1 className="card-title">Sign in</h1>
        <p className="card-lede">Use your Videoflix administrator account.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form className="stack" onSubmit={submit}>
          <div className="field">
            <label htmlFor="sign-in-email">Email</label>
            <input
              id="sign-in-email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(event) => setEmail(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="sign-in-password">Password</label>
            <input
              id="sign-in-password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </div>
          {failure && (
            <p className="form-error" role="alert">
              {failure}
            </p>
          )}
          <button type="submit" className="button button-primary button-wide" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </div>
    </main>
  );
}
