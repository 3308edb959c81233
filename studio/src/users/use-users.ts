// The users list: one keyset page for the filters, back and forth (the `after` of every page seen is
// kept for "Previous"), and rows replaced in place by the answers of the page's own changes.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminUser, AdminUserPage } from "../api/types.ts";
import { type UserFilters, usersQuery } from "./user-rules.ts";

export interface UsersState {
  status: "loading" | "ready" | "error";
  users: AdminUser[];
  error: string | null;
  /** 0 for the first page. */
  pageIndex: number;
  hasNext: boolean;
}

export function useUsers(api: ApiClient, filters: UserFilters) {
  const [state, setState] = useState<UsersState>({
    status: "loading",
    users: [],
    error: null,
    pageIndex: 0,
    hasNext: false,
  });
  // afters[i] opened page i; nextAfter opens the page after the one shown.
  const afters = useRef<Array<number | null>>([null]);
  const nextAfter = useRef<number | null>(null);
  const request = useRef<AbortController | null>(null);

  const load = useCallback(
    async (pageIndex: number) => {
      request.current?.abort();
      const controller = new AbortController();
      request.current = controller;
      setState((previous) => ({ ...previous, status: "loading", error: null }));
      try {
        const page = await api.get<AdminUserPage>(
          usersQuery(filters, afters.current[pageIndex] ?? null),
          controller.signal,
        );
        if (controller.signal.aborted) return;
        nextAfter.current = page.next_after;
        setState({
          status: "ready",
          users: page.results,
          error: null,
          pageIndex,
          hasNext: page.next_after !== null,
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((previous) => ({
          ...previous,
          status: "error",
          error: error instanceof Error ? error.message : String(error),
        }));
      }
    },
    [api, filters],
  );

  useEffect(() => {
    afters.current = [null];
    void load(0);
    return () => request.current?.abort();
  }, [load]);

  const nextPage = useCallback(() => {
    if (nextAfter.current === null) return;
    afters.current = [...afters.current.slice(0, state.pageIndex + 1), nextAfter.current];
    void load(state.pageIndex + 1);
  }, [load, state.pageIndex]);

  const previousPage = useCallback(() => {
    if (state.pageIndex > 0) void load(state.pageIndex - 1);
  }, [load, state.pageIndex]);

  const reload = useCallback(() => void load(state.pageIndex), [load, state.pageIndex]);

  const replace = useCallback((user: AdminUser) => {
    setState((previous) => ({
      ...previous,
      users: previous.users.map((shown) => (shown.id === user.id ? user : shown)),
    }));
  }, []);

  return { state, nextPage, previousPage, reload, replace };
}
