// The frame of every signed-in page: the brand, the navigation (only pages that exist), who is signed
// in and Sign out; a skip link first for keyboard users.
import type { ReactNode } from "react";

export function Brand() {
  return (
    <span className="brand">
      <svg
        className="brand-mark"
        viewBox="0 0 32 32"
        width="28"
        height="28"
        aria-hidden="true"
        focusable="false"
      >
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M12 9.5v13l10.5-6.5z" fill="#fff" />
      </svg>
      <span className="brand-name">
        Videoflix <span className="brand-product">Studio</span>
      </span>
    </span>
  );
}

export function Shell({
  email,
  onSignOut,
  signingOut,
  children,
}: {
  email: string;
  onSignOut: () => void;
  signingOut: boolean;
  children: ReactNode;
}) {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Brand />
        <nav className="topnav" aria-label="Studio">
          <a className="topnav-link" href="/studio/" aria-current="page">
            Library
          </a>
        </nav>
        <div className="account">
          <span className="account-email" title={email}>
            {email}
          </span>
          <button type="button" className="button button-quiet" onClick={onSignOut} disabled={signingOut}>
            {signingOut ? "Signing out…" : "Sign out"}
          </button>
        </div>
      </header>
      {children}
    </>
  );
}
