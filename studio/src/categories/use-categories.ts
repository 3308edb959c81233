// The categories as the page shows them: loaded once, then kept by the answers of the page's own
// changes (a create, rename or delete answers with what changed; nothing else needs a reload).
import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";
import { sortCategories } from "./category-rules.ts";

export type CategoriesState =
  | { status: "loading" }
  | { status: "error"; error: string }
  | { status: "ready"; categories: AdminCategory[] };

export function useCategories(api: ApiClient) {
  const [state, setState] = useState<CategoriesState>({ status: "loading" });

  const load = useCallback(async () => {
    setState({ status: "loading" });
    try {
      const list = await api.get<AdminCategory[]>("/api/admin/categories");
      setState({ status: "ready", categories: sortCategories(list) });
    } catch (error) {
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

  const rename = async (id: number, name: string): Promise<AdminCategory> => {
    const renamed = await api.patch<AdminCategory>(`/api/admin/categories/${id}`, { name: name.trim() });
    change((categories) => categories.map((category) => (category.id === id ? renamed : category)));
    return renamed;
  };

  const forget = (id: number) => change((categories) => categories.filter((category) => category.id !== id));

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

  return { state, reload: load, create, rename, remove, forget, setVideoCount };
}
