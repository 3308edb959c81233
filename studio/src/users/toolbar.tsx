// Search by address and filter by role and status; every control has a visible label. Typing settles
// before the search is sent (Enter sends it at once).
import { SearchField } from "../ui/search-field.tsx";
import type { UserFilters } from "./user-rules.ts";

export function UsersToolbar({
  filters,
  onChange,
}: {
  filters: UserFilters;
  onChange: (filters: UserFilters) => void;
}) {
  return (
    <search className="toolbar users-toolbar" aria-label="Find users">
      <SearchField
        id="users-search"
        placeholder="Part of the email address"
        maxLength={100}
        value={filters.q}
        onSearch={(q) => onChange({ ...filters, q })}
      />
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
