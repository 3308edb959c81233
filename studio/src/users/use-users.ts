// The users list: one keyset page for the filters, back and forth (user-pages.ts keeps the cursors
// with the filters they belong to), and rows replaced in place by the answers of the page's own changes.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminUser, AdminUserPage } from "../api/types.ts";
import {
  firstPages,
  nextRequest,
  type PageRequest,
  pagesFailed,
  pagesLoaded,
  pagesLoading,
  previousRequest,
  retryRequest,
  type UserPages,
} from "./user-pages.ts";
import { filtersKey, type UserFilters, usersQuery } from "./user-rules.ts";

export function useUsers(api: ApiClient, filters: UserFilters) {
  const key = filtersKey(filters);
  const [pages, setPages] = useState<UserPages>(() => firstPages(key));
  // New filters start their own trail before the next paint: no page number, Next or cursor of the
  // old list is ever offered with them, whether or not their first load succeeds.
  const current = pages.key === key ? pages : firstPages(key);
  if (current !== pages) setPages(current);
  const request = useRef<AbortController | null>(null);

  const load = useCallback(
    async (pageRequest: PageRequest) => {
      request.current?.abort();
      const controller = new AbortController();
      request.current = controller;
      setPages((shown) => (shown.key === key ? pagesLoading(shown, pageRequest) : shown));
      try {
        const page = await api.get<AdminUserPage>(usersQuery(filters, pageRequest.after), controller.signal);
        if (controller.signal.aborted) return;
        setPages((shown) => (shown.key === key ? pagesLoaded(shown, pageRequest, page) : shown));
      } catch (error) {
        if (controller.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        setPages((shown) => (shown.key === key ? pagesFailed(shown, message) : shown));
      }
    },
    [api, filters, key],
  );

  useEffect(() => {
    void load(retryRequest(firstPages(key)));
    return () => request.current?.abort();
  }, [load, key]);

  const go = (pageRequest: PageRequest | null) => {
    if (pageRequest) void load(pageRequest);
  };
  const nextPage = () => go(nextRequest(current));
  const previousPage = () => go(previousRequest(current));
  const reload = () => go(retryRequest(current));

  const replace = useCallback((user: AdminUser) => {
    setPages((shown) => ({
      ...shown,
      users: shown.users.map((listed) => (listed.id === user.id ? user : listed)),
    }));
  }, []);

  return { state: current, nextPage, previousPage, reload, replace };
}
