// The library's state: one keyset page of videos for the filters, pages back and forth (the cursors of
// the pages seen are kept for "Previous"), and live changes from the WebSocket applied in place: a
// progress tick updates its row, a state change reads that video again, a deletion removes it.
import { useCallback, useEffect, useRef, useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import type { AdminVideo, AdminVideoPage, RealtimeEvent } from "../api/types.ts";
import { isFiltered, type LibraryFilters, libraryQuery } from "./filters.ts";
import { applyProgressTick } from "./progress-tick.ts";

export interface LibraryState {
  status: "loading" | "ready" | "error";
  videos: AdminVideo[];
  error: string | null;
  /** 0 for the first page. */
  pageIndex: number;
  hasNext: boolean;
}

/**
 * The video as read again, keeping the progress already shown when that is further along: the read's
 * progress comes from the key the transcoder writes, which a tick pushed over the socket may have
 * overtaken. A bar never moves backwards within one revision.
 */
function withNewestProgress(shown: AdminVideo, read: AdminVideo): AdminVideo {
  const sameRun =
    shown.processing_state === "processing" &&
    read.processing_state === "processing" &&
    shown.revision === read.revision;
  return sameRun && shown.progress.percent > read.progress.percent
    ? { ...read, progress: shown.progress }
    : read;
}

export function useLibrary(api: ApiClient, filters: LibraryFilters) {
  const [state, setState] = useState<LibraryState>({
    status: "loading",
    videos: [],
    error: null,
    pageIndex: 0,
    hasNext: false,
  });
  // cursors[i] opened page i; nextCursor opens the page after the one shown.
  const cursors = useRef<Array<string | null>>([null]);
  const nextCursor = useRef<string | null>(null);
  const request = useRef<AbortController | null>(null);
  const refetching = useRef(new Map<number, boolean>());
  /** Counts the page loads: a video added on top is dropped when another page was loaded meanwhile. */
  const generation = useRef(0);
  const shown = useRef<AdminVideo[]>([]);
  shown.current = state.videos;

  const load = useCallback(
    async (pageIndex: number) => {
      request.current?.abort();
      generation.current += 1;
      const controller = new AbortController();
      request.current = controller;
      setState((previous) => ({ ...previous, status: "loading", error: null }));
      try {
        const page = await api.get<AdminVideoPage>(
          libraryQuery(filters, cursors.current[pageIndex] ?? null),
          controller.signal,
        );
        if (controller.signal.aborted) return;
        nextCursor.current = page.next_cursor;
        setState({
          status: "ready",
          videos: page.items,
          error: null,
          pageIndex,
          hasNext: page.next_cursor !== null,
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
    cursors.current = [null];
    void load(0);
    return () => request.current?.abort();
  }, [load]);

  const nextPage = useCallback(() => {
    if (!nextCursor.current) return;
    cursors.current = [...cursors.current.slice(0, state.pageIndex + 1), nextCursor.current];
    void load(state.pageIndex + 1);
  }, [load, state.pageIndex]);

  const previousPage = useCallback(() => {
    if (state.pageIndex > 0) void load(state.pageIndex - 1);
  }, [load, state.pageIndex]);

  const reload = useCallback(() => void load(state.pageIndex), [load, state.pageIndex]);

  const replace = useCallback((video: AdminVideo) => {
    setState((previous) => ({
      ...previous,
      videos: previous.videos.map((shownVideo) => (shownVideo.id === video.id ? video : shownVideo)),
    }));
  }, []);

  /** Reads one video again (a state change); another change meanwhile reads it once more after. */
  const refetch = useCallback(
    async (id: number, prepend = false) => {
      if (refetching.current.has(id)) {
        refetching.current.set(id, true);
        return;
      }
      refetching.current.set(id, false);
      const loadedAt = generation.current;
      try {
        const video = await api.get<AdminVideo>(`/api/admin/videos/${id}`);
        setState((previous) => {
          const known = previous.videos.some((shownVideo) => shownVideo.id === id);
          if (known) {
            return {
              ...previous,
              videos: previous.videos.map((shownVideo) =>
                shownVideo.id === id ? withNewestProgress(shownVideo, video) : shownVideo,
              ),
            };
          }
          // Decided for the page shown when the event came: another search or page since, and it is not ours.
          const samePage = loadedAt === generation.current;
          return prepend && samePage ? { ...previous, videos: [video, ...previous.videos] } : previous;
        });
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 404) {
          setState((previous) => ({
            ...previous,
            videos: previous.videos.filter((shownVideo) => shownVideo.id !== id),
          }));
        }
      } finally {
        const again = refetching.current.get(id);
        refetching.current.delete(id);
        if (again) void refetch(id);
      }
    },
    [api],
  );

  const applyEvent = useCallback(
    (event: RealtimeEvent) => {
      if (event.type === "welcome") return;
      const known = shown.current.some((video) => video.id === event.id);
      // A new upload belongs at the top of the unfiltered first page, newest first. It is announced by
      // `video.created` where the api sends that to admins, and shows itself by its first tick anyway.
      const addIfOnTop = () => {
        const onTop = state.pageIndex === 0 && filters.sort === "newest" && !isFiltered(filters);
        if (onTop && state.status === "ready") void refetch(event.id, true);
      };
      switch (event.type) {
        case "video.created":
          if (!known) addIfOnTop();
          return;
        case "video.progress": {
          const row = shown.current.find((video) => video.id === event.id);
          if (!row) {
            addIfOnTop();
            return;
          }
          const outcome = applyProgressTick(row, event);
          if (outcome === "behind") void refetch(event.id);
          if (typeof outcome === "string") return;
          setState((previous) => ({
            ...previous,
            videos: previous.videos.map((video) => {
              if (video.id !== event.id) return video;
              const ticked = applyProgressTick(video, event);
              return typeof ticked === "string" ? video : ticked;
            }),
          }));
          return;
        }
        case "video.deleted":
          setState((previous) => ({
            ...previous,
            videos: previous.videos.filter((video) => video.id !== event.id),
          }));
          return;
        default:
          if (known) void refetch(event.id);
      }
    },
    [filters, refetch, state.pageIndex, state.status],
  );

  return { state, nextPage, previousPage, reload, replace, applyEvent };
}
