import { describe, expect, test } from "bun:test";
import type { AdminUser } from "../api/types.ts";
import {
  firstPages,
  nextRequest,
  pagerShown,
  pagesFailed,
  pagesLoaded,
  pagesLoading,
  previousRequest,
  retryRequest,
  type UserPages,
} from "./user-pages.ts";
import { filtersKey, NO_USER_FILTERS } from "./user-rules.ts";

const user = (id: number): AdminUser => ({
  id,
  email: `u${id}@example.com`,
  is_active: true,
  is_admin: false,
  created_at: "2026-11-24T08:00:00.000Z",
  last_login_at: null,
});
const ALL = filtersKey(NO_USER_FILTERS);
const INACTIVE = filtersKey({ ...NO_USER_FILTERS, status: "inactive" });

/** Page 1 (ids 30…6, next 6) then page 2 (ids 5…1) loaded under the filters of `key`. */
function onSecondPage(key: string): UserPages {
  let pages = firstPages(key);
  const first = retryRequest(pages);
  pages = pagesLoaded(pagesLoading(pages, first), first, { results: [user(30)], next_after: 6 });
  const second = nextRequest(pages)!;
  expect(second).toEqual({ index: 1, after: 6, afters: [null, 6] });
  return pagesLoaded(pagesLoading(pages, second), second, { results: [user(5)], next_after: null });
}

describe("the users list's pages", () => {
  test("Next and Previous walk the cursors of the pages seen", () => {
    const pages = onSecondPage(ALL);
    expect(pages.pageIndex).toBe(1);
    expect(nextRequest(pages)).toBeNull();
    expect(previousRequest(pages)).toEqual({ index: 0, after: null, afters: [null, 6] });
    expect(pagerShown(pages)).toBe(true);
  });

  test("new filters start at page 1 with no cursor of the old list, even when their load fails", () => {
    // On page 2, the filter changes and its first load fails: Try again asks for page 1 of the new
    // filters, not the old page 2's cursor; no pager over the error, no Next.
    const fresh = firstPages(INACTIVE);
    const asked = retryRequest(fresh);
    const failed = pagesFailed(pagesLoading(fresh, asked), "The server cannot be reached.");
    expect(failed.pageIndex).toBe(0);
    expect(pagerShown(failed)).toBe(false);
    expect(nextRequest(failed)).toBeNull();
    expect(retryRequest(failed)).toEqual({ index: 0, after: null, afters: [null] });
    expect(onSecondPage(ALL).nextAfter).toBeNull();
  });

  test("a failed Next is retried as that page, with its cursor; the pager waits for it", () => {
    let pages = firstPages(ALL);
    const first = retryRequest(pages);
    pages = pagesLoaded(pagesLoading(pages, first), first, { results: [user(30)], next_after: 6 });
    const next = nextRequest(pages)!;
    const failed = pagesFailed(pagesLoading(pages, next), "The server answered 502.");
    expect(pagerShown(failed)).toBe(false);
    expect(nextRequest(failed)).toBeNull();
    expect(previousRequest(failed)).toBeNull();
    expect(retryRequest(failed)).toEqual({ index: 1, after: 6, afters: [null, 6] });
    // While loading the rows stay, and neither Next nor Previous can be sent twice.
    const loading = pagesLoading(pages, next);
    expect(loading.users).toEqual([user(30)]);
    expect(nextRequest(loading)).toBeNull();
  });

  test("filters are one key however the search is spaced", () => {
    expect(filtersKey({ ...NO_USER_FILTERS, q: " ann " })).toBe(filtersKey({ ...NO_USER_FILTERS, q: "ann" }));
    expect(ALL).not.toBe(INACTIVE);
  });
});
