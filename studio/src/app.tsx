// The studio's top: who is signed in decides the page. Unknown at first (GET /api/me/, refreshing an
// expired access token once), then the sign-in page, the no-access page for a non-admin, or the studio.
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiClient, ApiRequestError } from "./api/http.ts";
import type { SignedInUser } from "./api/types.ts";
import { CategoriesPage } from "./categories/categories-page.tsx";
import { FarmPage, isFarmPath } from "./farm/farm-page.tsx";
import { LibraryPage } from "./library/library-page.tsx";
import { NoAccessPage } from "./pages/no-access.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { Shell } from "./ui/shell.tsx";
import { UploadPage } from "./upload/upload-page.tsx";
import { UsersPage } from "./users/users-page.tsx";
import { VideoPage, videoIdFromPath } from "./video/video-page.tsx";

type Session =
  | { kind: "checking" }
  | { kind: "unreachable"; message: string }
  | { kind: "signed-out"; notice: string | null }
  | { kind: "signed-in"; user: SignedInUser };

/** Client routes under /studio/: the library, /studio/upload, /studio/videos/:id, /studio/categories,
 * /studio/users and /studio/farm; anything else is a designed not-found page. */
const isLibraryPath = (path: string) =>
  path === "/studio/" || path === "/studio" || path === "/studio/index.html";
const isPagePath = (path: string, page: string) => path === `/studio/${page}` || path === `/studio/${page}/`;
const isUploadPath = (path: string) => isPagePath(path, "upload");

export function App() {
  const api = useMemo(() => new ApiClient(), []);
  const [session, setSession] = useState<Session>({ kind: "checking" });
  const [signingOut, setSigningOut] = useState(false);

  const check = useCallback(async () => {
    setSession({ kind: "checking" });
    try {
      setSession({ kind: "signed-in", user: await api.get<SignedInUser>("/api/me/") });
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 401)
        setSession({ kind: "signed-out", notice: null });
      else
        setSession({ kind: "unreachable", message: error instanceof Error ? error.message : String(error) });
    }
  }, [api]);

  useEffect(() => {
    void check();
    return api.onSessionEnded((notice) =>
      setSession((current) =>
        current.kind === "signed-in"
          ? { kind: "signed-out", notice: notice ?? "Your session ended. Sign in again." }
          : current,
      ),
    );
  }, [api, check]);

  const signOut = useCallback(async () => {
    setSigningOut(true);
    try {
      await api.post("/api/logout/");
    } catch {
      // The cookies are cleared by the answer; a failed logout still leaves this page signed out.
    }
    setSigningOut(false);
    setSession({ kind: "signed-out", notice: "You are signed out." });
  }, [api]);

  switch (session.kind) {
    case "checking":
      return (
        <main className="centered" id="main" aria-busy="true">
          <p className="muted">Opening the studio…</p>
        </main>
      );
    case "unreachable":
      return (
        <main className="centered" id="main">
          <div className="card card-narrow" role="alert">
            <h1 className="card-title">The studio cannot reach the server</h1>
            <p className="card-lede">{session.message}</p>
            <button type="button" className="button button-primary" onClick={check}>
              Try again
            </button>
          </div>
        </main>
      );
    case "signed-out":
      return (
        <SignInPage
          api={api}
          notice={session.notice}
          onSignedIn={(user) => setSession({ kind: "signed-in", user })}
        />
      );
    case "signed-in": {
      if (!session.user.is_admin) {
        return <NoAccessPage email={session.user.email} onSignOut={signOut} signingOut={signingOut} />;
      }
      const videoId = videoIdFromPath(window.location.pathname);
      return (
        <Shell email={session.user.email} onSignOut={signOut} signingOut={signingOut}>
          {isLibraryPath(window.location.pathname) ? (
            <LibraryPage api={api} />
          ) : isUploadPath(window.location.pathname) ? (
            <UploadPage api={api} />
          ) : isFarmPath(window.location.pathname) ? (
            <FarmPage api={api} />
          ) : videoId !== null ? (
            <VideoPage api={api} id={videoId} />
          ) : isPagePath(window.location.pathname, "categories") ? (
            <CategoriesPage api={api} />
          ) : isPagePath(window.location.pathname, "users") ? (
            <UsersPage api={api} me={session.user} />
          ) : (
            <main className="centered" id="main">
              <div className="card card-narrow">
                <h1 className="card-title">Page not found</h1>
                <p className="card-lede">There is no studio page at this address.</p>
                <a className="button button-primary" href="/studio/">
                  Go to the library
                </a>
              </div>
            </main>
          )}
        </Shell>
      );
    }
  }
}
