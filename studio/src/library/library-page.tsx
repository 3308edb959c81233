// The library: every video, filtered and sorted, one page at a time, kept live over the WebSocket.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import { type FeedStatus, LibraryFeed } from "../api/realtime.ts";
import type { AdminCategory } from "../api/types.ts";
import {
  filtersFromLocation,
  filtersToSearch,
  isFiltered,
  type LibraryFilters,
  NO_FILTERS,
} from "./filters.ts";
import { LibraryToolbar } from "./toolbar.tsx";
import { useLibrary } from "./use-library.ts";
import { VideoRow } from "./video-row.tsx";

const FEED_LABELS: Record<FeedStatus, string> = {
  connecting: "Connecting…",
  live: "Live updates",
  offline: "Reconnecting…",
};

export function LibraryPage({ api }: { api: ApiClient }) {
  const [filters, setFilters] = useState<LibraryFilters>(() => filtersFromLocation(window.location.search));
  const [categories, setCategories] = useState<AdminCategory[]>([]);
  const [feedStatus, setFeedStatus] = useState<FeedStatus>("connecting");
  const library = useLibrary(api, filters);
  const { applyEvent, reload } = library;

  const changeFilters = useCallback((next: LibraryFilters) => {
    setFilters(next);
    window.history.replaceState(null, "", `${window.location.pathname}${filtersToSearch(next)}`);
  }, []);

  useEffect(() => {
    api
      .get<AdminCategory[]>("/api/admin/categories")
      .then((list) => setCategories([...list].sort((a, b) => a.name.localeCompare(b.name))))
      .catch(() => setCategories([]));
  }, [api]);

  // The newest handlers, without reopening the socket each time they change.
  const handlers = useRef({ applyEvent, reload });
  handlers.current = { applyEvent, reload };
  useEffect(() => {
    const feed = new LibraryFeed(api, {
      event: (event) => handlers.current.applyEvent(event),
      status: setFeedStatus,
      resumed: () => handlers.current.reload(),
    });
    feed.start();
    return () => feed.stop();
  }, [api]);

  const { state } = library;
  const filtered = isFiltered(filters);
  return (
    <main className="page" id="main">
      <div className="page-header">
        <div>
          <h1>Library</h1>
          <p className="page-lede">Every video, its transcoding state and renditions.</p>
        </div>
        <p className={`feed feed-${feedStatus}`} role="status">
          <span className="feed-dot" aria-hidden="true" />
          {FEED_LABELS[feedStatus]}
        </p>
      </div>
      <LibraryToolbar filters={filters} categories={categories} onChange={changeFilters} />
      <section className="library" aria-label="Videos" aria-busy={state.status === "loading"}>
        {state.status === "error" ? (
          <div className="empty empty-error" role="alert">
            <h2>The library could not be loaded</h2>
            <p>{state.error}</p>
            <button type="button" className="button" onClick={library.reload}>
              Try again
            </button>
          </div>
        ) : state.videos.length === 0 && state.status === "loading" ? (
          <div className="empty empty-loading">
            <p>Loading the library…</p>
          </div>
        ) : state.videos.length === 0 ? (
          filtered ? (
            <div className="empty">
              <h2>No videos match</h2>
              <p>Nothing in the library fits this search and these filters.</p>
              <button
                type="button"
                className="button"
                onClick={() => changeFilters({ ...NO_FILTERS, sort: filters.sort })}
              >
                Clear filters
              </button>
            </div>
          ) : (
            <div className="empty">
              <h2>No videos yet</h2>
              <p>Uploaded videos appear here and follow their transcoding live.</p>
            </div>
          )
        ) : (
          <table className="video-table">
            <thead>
              <tr>
                <th scope="col" className="cell-poster">
                  <span className="visually-hidden">Poster</span>
                </th>
                <th scope="col">Title</th>
                <th scope="col">State</th>
                <th scope="col">Duration</th>
                <th scope="col">Renditions</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {state.videos.map((video) => (
                <VideoRow key={video.id} api={api} video={video} onChanged={library.replace} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {(state.pageIndex > 0 || state.hasNext) && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            className="button button-quiet"
            onClick={library.previousPage}
            disabled={state.pageIndex === 0 || state.status === "loading"}
          >
            ← Previous
          </button>
          <span className="pager-label">Page {state.pageIndex + 1}</span>
          <button
            type="button"
            className="button button-quiet"
            onClick={library.nextPage}
            disabled={!state.hasNext || state.status === "loading"}
          >
            Next →
          </button>
        </nav>
      )}
    </main>
  );
}
