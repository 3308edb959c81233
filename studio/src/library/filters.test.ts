import { describe, expect, test } from "bun:test";
import { filtersFromLocation, filtersToSearch, libraryQuery, NO_FILTERS } from "./filters.ts";

describe("the library's filters in the address", () => {
  test("round-trip, and a plain library keeps a plain address", () => {
    const filters = { q: "bunny", state: "error", category: "3", sort: "title" } as const;
    expect(filtersFromLocation(filtersToSearch(filters))).toEqual(filters);
    expect(filtersToSearch(NO_FILTERS)).toBe("");
    expect(filtersToSearch({ ...NO_FILTERS, q: "   " })).toBe("");
  });

  test("unknown states and sorts fall back to the defaults instead of reaching the api", () => {
    expect(filtersFromLocation("?state=done&sort=random&q=x")).toEqual({ ...NO_FILTERS, q: "x" });
  });

  test("become the keyset query of GET /api/admin/videos", () => {
    const query = new URL(
      libraryQuery({ q: " a&b ", state: "ready", category: "Drama", sort: "oldest" }, "abc"),
      "http://x",
    );
    expect(query.pathname).toBe("/api/admin/videos");
    expect(Object.fromEntries(query.searchParams)).toEqual({
      limit: "25",
      sort: "oldest",
      q: "a&b",
      state: "ready",
      category: "Drama",
      cursor: "abc",
    });
  });
});
