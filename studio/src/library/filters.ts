// The library's filters as the page holds them and as the address bar keeps them (a reload or a
// shared link shows the same selection), and the API query they become.
import { VIDEO_STATES, type VideoState } from "../api/types.ts";

export const SORTS = [
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "title", label: "Title A–Z" },
] as const;
export type LibrarySort = (typeof SORTS)[number]["value"];

export interface LibraryFilters {
  q: string;
  state: VideoState | "";
  category: string;
  sort: LibrarySort;
}

export const NO_FILTERS: LibraryFilters = { q: "", state: "", category: "", sort: "newest" };

export const PAGE_SIZE = 25;

export function filtersFromLocation(search: string): LibraryFilters {
  const params = new URLSearchParams(search);
  const state = params.get("state") ?? "";
  const sort = params.get("sort") ?? "newest";
  return {
    q: params.get("q") ?? "",
    state: (VIDEO_STATES as readonly string[]).includes(state) ? (state as VideoState) : "",
    category: params.get("category") ?? "",
    sort: SORTS.some((option) => option.value === sort) ? (sort as LibrarySort) : "newest",
  };
}

/** Only what differs from the defaults, so a plain library keeps a plain address. */
export function filtersToSearch(filters: LibraryFilters): string {
  const params = new URLSearchParams();
  if (filters.q.trim()) params.set("q", filters.q.trim());
  if (filters.state) params.set("state", filters.state);
  if (filters.category) params.set("category", filters.category);
  if (filters.sort !== "newest") params.set("sort", filters.sort);
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function libraryQuery(filters: LibraryFilters, cursor: string | null): string {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), sort: filters.sort });
  if (filters.q.trim()) params.set("q", filters.q.trim());
  if (filters.state) params.set("state", filters.state);
  if (filters.category) params.set("category", filters.category);
  if (cursor) params.set("cursor", cursor);
  return `/api/admin/videos?${params}`;
}

export const isFiltered = (filters: LibraryFilters) =>
  filters.q.trim() !== "" || filters.state !== "" || filters.category !== "";
