// The users list's paging as pure state: the keyset cursors belong to the filters they were read under
// (a filter change starts a new trail at page 1 at once, before anything loads), the pager is offered
// only over a list that loaded, and Try again asks again for the page that was last asked for.
import type { AdminUser, AdminUserPage } from "../api/types.ts";

export interface UserPages {
  /** The filters the cursors and rows belong to (filtersKey). */
  key: string;
  status: "loading" | "ready" | "error";
  users: AdminUser[];
  error: string | null;
  /** The page shown, 0 for the first. */
  pageIndex: number;
  /** The page last asked for: what Try again loads. */
  requested: number;
  /** afters[i] opens page i (null: the first page). */
  afters: Array<number | null>;
  /** Opens the page after the one shown; null on the last page or before one loaded. */
  nextAfter: number | null;
}

/** A request for page `index`, opened by `after`. */
export interface PageRequest {
  index: number;
  after: number | null;
  afters: Array<number | null>;
}

export const firstPages = (key: string): UserPages => ({
  key,
  status: "loading",
  users: [],
  error: null,
  pageIndex: 0,
  requested: 0,
  afters: [null],
  nextAfter: null,
});

/** The page after the one shown, while a loaded list has one. */
export function nextRequest(pages: UserPages): PageRequest | null {
  if (pages.status !== "ready" || pages.nextAfter === null) return null;
  const index = pages.pageIndex + 1;
  const afters = [...pages.afters.slice(0, index), pages.nextAfter];
  return { index, after: pages.nextAfter, afters };
}

export function previousRequest(pages: UserPages): PageRequest | null {
  if (pages.status !== "ready" || pages.pageIndex === 0) return null;
  const index = pages.pageIndex - 1;
  return { index, after: pages.afters[index] ?? null, afters: pages.afters };
}

/** The page last asked for, with the cursor it was asked with. */
export const retryRequest = (pages: UserPages): PageRequest => ({
  index: pages.requested,
  after: pages.afters[pages.requested] ?? null,
  afters: pages.afters,
});

/** Asking: the rows stay (no jump) but the pager waits; Try again will ask for this page. */
export const pagesLoading = (pages: UserPages, request: PageRequest): UserPages => ({
  ...pages,
  status: "loading",
  error: null,
  requested: request.index,
  afters: request.afters,
});

export const pagesLoaded = (pages: UserPages, request: PageRequest, page: AdminUserPage): UserPages => ({
  ...pages,
  status: "ready",
  users: page.results,
  error: null,
  pageIndex: request.index,
  requested: request.index,
  afters: request.afters,
  nextAfter: page.next_after,
});

export const pagesFailed = (pages: UserPages, error: string): UserPages => ({
  ...pages,
  status: "error",
  error,
});

/** The pager is shown over a list that is there (not over the error state) with more than one page. */
export const pagerShown = (pages: UserPages): boolean =>
  pages.status !== "error" && (pages.pageIndex > 0 || pages.nextAfter !== null);
