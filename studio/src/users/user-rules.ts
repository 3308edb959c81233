// What the users page decides without the server: the list's query (search, filters, keyset page),
// what each account change means in words (its confirmation), and what the api's refusals mean here.
import { ApiRequestError } from "../api/http.ts";
import type { AdminUser } from "../api/types.ts";

export interface UserFilters {
  /** Part of the email address. */
  q: string;
  role: "" | "admin" | "member";
  status: "" | "active" | "inactive";
}

export const NO_USER_FILTERS: UserFilters = { q: "", role: "", status: "" };
export const USERS_PER_PAGE = 25;

/** GET /api/admin/users for these filters, from `after` (the previous page's `next_after`). */
export function usersQuery(filters: UserFilters, after: number | null, limit = USERS_PER_PAGE): string {
  const params = new URLSearchParams();
  const q = filters.q.trim();
  if (q) params.set("q", q);
  if (filters.role) params.set("is_admin", String(filters.role === "admin"));
  if (filters.status) params.set("is_active", String(filters.status === "active"));
  params.set("limit", String(limit));
  if (after !== null) params.set("after", String(after));
  return `/api/admin/users?${params}`;
}

/** One string per set of filters: the cursors of a list belong to it. */
export const filtersKey = (filters: UserFilters): string =>
  JSON.stringify([filters.q.trim(), filters.role, filters.status]);

export const isUserFiltered = (filters: UserFilters): boolean =>
  filters.q.trim() !== "" || filters.role !== "" || filters.status !== "";

/** One change an admin makes to an account from the list. */
export type AccountAction = "activate" | "deactivate" | "grant-admin" | "revoke-admin";

export const ACCOUNT_CHANGES: Record<AccountAction, { is_active?: boolean; is_admin?: boolean }> = {
  activate: { is_active: true },
  deactivate: { is_active: false },
  "grant-admin": { is_admin: true },
  "revoke-admin": { is_admin: false },
};

/** The two actions a row offers: its active switch and its admin switch. */
export const actionsFor = (user: AdminUser): [AccountAction, AccountAction] => [
  user.is_active ? "deactivate" : "activate",
  user.is_admin ? "revoke-admin" : "grant-admin",
];

export const ACTION_LABELS: Record<AccountAction, string> = {
  activate: "Activate",
  deactivate: "Deactivate",
  "grant-admin": "Make admin",
  "revoke-admin": "Remove admin",
};

/** What a confirmation says before the change is sent; activating needs none, but for an admin. */
export interface Confirmation {
  title: string;
  text: string[];
  confirmLabel: string;
  busyLabel: string;
  tone: "danger" | "primary";
  /** Your own account: the change ends your session, so it takes a ticked box as well. */
  ownAccount: boolean;
}

export function confirmationFor(
  user: AdminUser,
  action: AccountAction,
  isSelf: boolean,
): Confirmation | null {
  switch (action) {
    case "activate":
      // An inactive admin comes back with every right at once: that deserves a second look.
      if (!user.is_admin) return null;
      return {
        title: `Activate ${user.email}, an admin?`,
        text: [
          "The account is an admin: once active it can sign in to the studio again and change every video, category and account. Remove its admin first if it should come back as a viewer.",
        ],
        confirmLabel: "Activate admin",
        busyLabel: "Activating…",
        tone: "primary",
        ownAccount: false,
      };
    case "deactivate":
      return {
        title: `Deactivate ${user.email}?`,
        text: isSelf
          ? [
              "This is your own account: every session of it ends at once, this browser's included, and you cannot sign in again until another admin activates it.",
            ]
          : [
              "Every session of the account ends at once, on every device, and it cannot sign in until it is activated again.",
            ],
        confirmLabel: "Deactivate",
        busyLabel: "Deactivating…",
        tone: "danger",
        ownAccount: isSelf,
      };
    case "grant-admin":
      return {
        title: `Make ${user.email} an admin?`,
        text: [
          "They can then sign in to the studio and change every video, category and account, yours included. It applies from their next sign-in or token refresh.",
        ],
        confirmLabel: "Make admin",
        busyLabel: "Granting…",
        tone: "primary",
        ownAccount: false,
      };
    case "revoke-admin":
      return {
        title: `Remove admin from ${user.email}?`,
        text: isSelf
          ? [
              "This is your own account: you lose the studio at once, every session of yours ends (this browser's too), and you can come back only as a viewer.",
            ]
          : [
              "They lose the studio, and every session of the account ends at once; they can sign in again as a viewer.",
            ],
        confirmLabel: "Remove admin",
        busyLabel: "Removing…",
        tone: "danger",
        ownAccount: isSelf,
      };
  }
}

/** The account changed as asked: one sentence for the page's status line. */
export function changedSentence(user: AdminUser, action: AccountAction): string {
  switch (action) {
    case "activate":
      return `${user.email} is active again and can sign in.`;
    case "deactivate":
      return `${user.email} is deactivated: signed out everywhere, and cannot sign in.`;
    case "grant-admin":
      return `${user.email} is an admin now.`;
    case "revoke-admin":
      return `${user.email} is no longer an admin.`;
  }
}

/**
 * A refused change in the studio's words: the last admin is never demoted or deactivated (the api's
 * sentence says why), your own account only deliberately (the api's sentence names its request field),
 * and an admin demoted meanwhile may change nothing. Anything else says the api's own words.
 */
export function accountRefusal(error: unknown): string {
  if (error instanceof ApiRequestError && error.body && typeof error.body === "object") {
    const reason = (error.body as Record<string, unknown>).reason;
    if (error.status === 409 && reason === "last_admin") {
      return `Refused: this is the last active admin. Make another account an admin first, or nobody could run the service.`;
    }
    if (error.status === 409 && reason === "self") {
      return "Refused: this is your own account. Tick the box to confirm that you mean to change it.";
    }
    // Only the api's own "not_admin": a CSRF or Origin refusal is a 403 too, and says its own reason.
    if (error.status === 403 && reason === "not_admin") {
      return "Refused: your account is no longer an active admin, so it may not change accounts.";
    }
    if (error.status === 404) return "This account does not exist any more.";
  }
  return error instanceof Error ? error.message : String(error);
}

/** Why the studio is back at the sign-in page after a change to your own account or sessions. */
export function ownChangeNotice(action: AccountAction | "revoke-sessions"): string | null {
  switch (action) {
    case "revoke-admin":
      return "You removed your own admin right: every session of yours ended. Sign in again as a viewer.";
    case "deactivate":
      return "You deactivated your own account: it is signed out everywhere until another admin activates it.";
    case "revoke-sessions":
      return "You ended every session of your account, this one included. Sign in again.";
    default:
      return null;
  }
}
