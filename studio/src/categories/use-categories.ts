// The categories as the page shows them: loaded once (again on Try again), then kept by the answers of
// the page's own changes (a create, rename or delete answers with what changed); the delete dialog
// reads its category afresh and updates the row with what it learns.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";
import { isGone, sortCategories } from "./category-rules.ts";

export type CategoriesState =
  | { status: "loading" }
  | { status: "error"; error: string }
  | { status: "ready"; categories: AdminCategory[] };

export function useCategories(api: ApiClient) {
  const [state, setState] = useState<CategoriesState>({ status: "loading" });
  // Numbered loads: only the latest one's answer is shown, whichever order they come back in.
  const latestLoad = useRef(0);

  const load = useCallback(async () => {
    const number = ++latestLoad.current;
    setState({ status: "loading" });
    try {
      const list = await api.get<AdminCategory[]>("/api/admin/categories");
      if (number === latestLoad.current) setState({ status: "ready", categories: sortCategories(list) });
    } catch (error) {
      if (number !== latestLoad.current) return;
      setState({ status: "error", error: error instanceof Error ? error.message : String(error) });
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  const change = (update: (categories: AdminCategory[]) => AdminCategory[]) =>
    setState((current) =>
      current.status === "ready"
        ? { status: "ready", categories: sortCategories(update(current.categories)) }
        : current,
    );

  /** Throws the api's refusal for the form to show. */
  const create = async (name: string): Promise<AdminCategory> => {
    const created = await api.post<AdminCategory>("/api/admin/categories", { name: name.trim() });
    change((categories) => [...categories, created]);
    return created;
  };

  const forget = (id: number) => change((categories) => categories.filter((category) => category.id !== id));

  /** Throws the api's refusal; one deleted elsewhere (404) leaves the list as well. */
  const rename = async (id: number, name: string): Promise<AdminCategory> => {
    try {
      const renamed = await api.patch<AdminCategory>(`/api/admin/categories/${id}`, { name: name.trim() });
      change((categories) => categories.map((category) => (category.id === id ? renamed : category)));
      return renamed;
    } catch (error) {
      if (isGone(error)) forget(id);
      throw error;
    }
  };

  /** The category as it is now (its video count may have moved since the list loaded). */
  const fetchOne = (id: number): Promise<AdminCategory> =>
    api.get<AdminCategory>(`/api/admin/categories/${id}`);

  /** A fresh read of one category: the row shows what it says. */
  const refresh = (fresh: AdminCategory) =>
    change((categories) => categories.map((category) => (category.id === fresh.id ? fresh : category)));

  const remove = async (id: number): Promise<void> => {
    await api.delete(`/api/admin/categories/${id}`);
    forget(id);
  };

  /** A refusal said how many videos use it: the list shows that count from now on. */
  const setVideoCount = (id: number, videoCount: number) =>
    change((categories) =>
      categories.map((category) =>
        category.id === id ? { ...category, video_count: videoCount } : category,
      ),
    );

  return { state, reload: load, create, rename, remove, forget, setVideoCount, fetchOne, refresh };
}
