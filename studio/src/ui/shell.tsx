// The frame of every signed-in page: the brand, the navigation (only pages that exist), who is signed
// in and Sign out; a skip link first for keyboard users.
import type { ReactNode } from "react";

/** The library's own address, and a video's page (reached from it). */
const isLibraryOrVideoPath = (path: string) =>
  /^\/studio(\/|\/index\.html)?$/.test(path) || path.startsWith("/studio/videos/");

/** The pages that exist, each with the paths it answers. */
const NAVIGATION = [
  { href: "/studio/", label: "Library", current: (path: string) => isLibraryOrVideoPath(path) },
  { href: "/studio/upload", label: "Upload", current: (path: string) => path.startsWith("/studio/upload") },
  {
    href: "/studio/categories",
    label: "Categories",
    current: (path: string) => path.startsWith("/studio/categories"),
  },
  { href: "/studio/users", label: "Users", current: (path: string) => path.startsWith("/studio/users") },
  { href: "/studio/farm", label: "Farm", current: (path: string) => path.startsWith("/studio/farm") },
];

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
          {NAVIGATION.map((item) => (
            <a
              key={item.href}
              className="topnav-link"
              href={item.href}
              aria-current={item.current(window.location.pathname) ? "page" : undefined}
            >
              {item.label}
            </a>
          ))}
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
