// Search by address and filter by role and status; every control has a visible label. Typing settles
// before the search is sent (Enter sends it at once).
import { useEffect, useState } from "react";
import type { UserFilters } from "./user-rules.ts";

const SEARCH_DELAY_MS = 250;

export function UsersToolbar({
  filters,
  onChange,
}: {
  filters: UserFilters;
  onChange: (filters: UserFilters) => void;
}) {
  const [search, setSearch] = useState(filters.q);
  useEffect(() => setSearch(filters.q), [filters.q]);
  useEffect(() => {
    if (search === filters.q) return;
    const timer = setTimeout(() => onChange({ ...filters, q: search }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search, filters, onChange]);

  return (
    <search className="toolbar users-toolbar" aria-label="Find users">
      <div className="field field-search">
        <label htmlFor="users-search">Search</label>
        <input
          id="users-search"
          type="search"
          placeholder="Part of the email address"
          value={search}
          maxLength={100}
          onChange={(event) => setSearch(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") onChange({ ...filters, q: search });
          }}
        />
      </div>
      <div className="field">
        <label htmlFor="users-role">Role</label>
        <select
          id="users-role"
          value={filters.role}
          onChange={(event) => onChange({ ...filters, role: event.target.value as UserFilters["role"] })}
        >
          <option value="">All roles</option>
          <option value="admin">Admins</option>
          <option value="member">Viewers</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="users-status">Status</label>
        <select
          id="users-status"
          value={filters.status}
          onChange={(event) => onChange({ ...filters, status: event.target.value as UserFilters["status"] })}
        >
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="inactive">Inactive</option>
        </select>
      </div>
    </search>
  );
}
