// One video as the video page keeps it: read from GET /api/admin/videos/:id, then kept live over the
// WebSocket (progress ticks change the bar in place; a state change, a published revision or an edit
// elsewhere read the video again, so every field comes from the api and none is guessed here).
import { useCallback, useEffect, useRef, useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import { type FeedStatus, LibraryFeed } from "../api/realtime.ts";
import type { AdminVideo, RealtimeEvent } from "../api/types.ts";

export type VideoLoad =
  | { status: "loading" }
  | { status: "not-found" }
  | { status: "error"; message: string }
  | { status: "deleted" }
  | { status: "loaded"; video: AdminVideo };

export function useVideo(api: ApiClient, id: number) {
  const [load, setLoad] = useState<VideoLoad>({ status: "loading" });
  const [feedStatus, setFeedStatus] = useState<FeedStatus>("connecting");
  /** Bumped whenever the published revision may have changed, so the player reopens the playlist. */
  const [publication, setPublication] = useState(0);

  // Updaters stay pure: what the handlers need to compare against is read from these refs.
  const current = useRef<VideoLoad>(load);
  current.current = load;
  const publishedRevision = useRef<number | null | undefined>(undefined);

  const read = useCallback(async () => {
    try {
      const video = await api.get<AdminVideo>(`/api/admin/videos/${id}`);
      const published = video.published_revision ?? null;
      if (publishedRevision.current !== undefined && publishedRevision.current !== published)
        setPublication((count) => count + 1);
      publishedRevision.current = published;
      setLoad({ status: "loaded", video });
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) setLoad({ status: "not-found" });
      else setLoad({ status: "error", message: error instanceof Error ? error.message : String(error) });
    }
  }, [api, id]);

  const apply = useCallback(
    (event: RealtimeEvent) => {
      if (!("id" in event) || event.id !== id) return;
      switch (event.type) {
        case "video.progress": {
          const shown = current.current;
          // A tick of another revision (a replaced file's old job) says nothing about this one.
          if (shown.status !== "loaded" || event.revision !== shown.video.revision) return;
          if (event.state !== shown.video.processing_state) void read();
          const progress = { percent: event.percent, stage: event.stage, eta_seconds: event.eta_seconds };
          setLoad((latest) =>
            latest.status === "loaded" && latest.video.revision === event.revision
              ? { status: "loaded", video: { ...latest.video, processing_state: event.state, progress } }
              : latest,
          );
          return;
        }
        case "video.deleted":
          setLoad({ status: "deleted" });
          return;
        default:
          void read();
      }
    },
    [id, read],
  );

  const handlers = useRef({ apply, read });
  handlers.current = { apply, read };
  useEffect(() => {
    void handlers.current.read();
    const feed = new LibraryFeed(api, {
      event: (event) => handlers.current.apply(event),
      status: setFeedStatus,
      resumed: () => void handlers.current.read(),
    });
    feed.start();
    return () => feed.stop();
  }, [api]);

  const replace = useCallback((video: AdminVideo) => setLoad({ status: "loaded", video }), []);
  const markDeleted = useCallback(() => setLoad({ status: "deleted" }), []);
  return { load, feedStatus, publication, reload: read, replace, markDeleted };
}
