// Search, state and category filters and the sort of the library; every control has a visible label.
import { type AdminCategory, VIDEO_STATES } from "../api/types.ts";
import { SearchField } from "../ui/search-field.tsx";
import { type LibraryFilters, SORTS } from "./filters.ts";

const STATE_OPTIONS: Record<(typeof VIDEO_STATES)[number], string> = {
  pending: "Queued",
  processing: "Processing",
  ready: "Ready",
  error: "Failed",
};

export function LibraryToolbar({
  filters,
  categories,
  onChange,
}: {
  filters: LibraryFilters;
  categories: AdminCategory[];
  onChange: (filters: LibraryFilters) => void;
}) {
  return (
    <search className="toolbar" aria-label="Filter the library">
      <SearchField
        id="library-search"
        placeholder="Title or description"
        maxLength={200}
        value={filters.q}
        onSearch={(q) => onChange({ ...filters, q })}
      />
      <div className="field">
        <label htmlFor="library-state">State</label>
        <select
          id="library-state"
          value={filters.state}
          onChange={(event) => onChange({ ...filters, state: event.target.value as LibraryFilters["state"] })}
        >
          <option value="">All states</option>
          {VIDEO_STATES.map((state) => (
            <option key={state} value={state}>
              {STATE_OPTIONS[state]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="library-category">Category</label>
        <select
          id="library-category"
          value={filters.category}
          onChange={(event) => onChange({ ...filters, category: event.target.value })}
        >
          <option value="">All categories</option>
          {categories.map((category) => (
            <option key={category.id} value={String(category.id)}>
              {category.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="library-sort">Sort</label>
        <select
          id="library-sort"
          value={filters.sort}
          onChange={(event) => onChange({ ...filters, sort: event.target.value as LibraryFilters["sort"] })}
        >
          {SORTS.map((sort) => (
            <option key={sort.value} value={sort.value}>
              {sort.label}
            </option>
          ))}
        </select>
      </div>
    </search>
  );
}
