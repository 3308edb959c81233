// The labelled search box of a list's toolbar: typing settles for SEARCH_DELAY_MS before the search is
// sent, Enter sends it at once, and a search changed from outside (a reset) shows in the box.
import { useEffect, useRef, useState } from "react";

const SEARCH_DELAY_MS = 250;

export function SearchField(props: {
  id: string;
  placeholder: string;
  maxLength: number;
  /** The search the list shows now. */
  value: string;
  onSearch: (q: string) => void;
}) {
  const { id, placeholder, maxLength, value } = props;
  const [search, setSearch] = useState(value);
  // The latest callback, so a parent re-rendering (live progress) does not restart the wait.
  const onSearch = useRef(props.onSearch);
  onSearch.current = props.onSearch;
  useEffect(() => setSearch(value), [value]);
  useEffect(() => {
    if (search === value) return;
    const timer = setTimeout(() => onSearch.current(search), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search, value]);

  return (
    <div className="field field-search">
      <label htmlFor={id}>Search</label>
      <input
        id={id}
        type="search"
        placeholder={placeholder}
        value={search}
        maxLength={maxLength}
        onChange={(event) => setSearch(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter") onSearch.current(search);
        }}
      />
    </div>
  );
}
