// The farm as the page keeps it. Running jobs' progress comes over the WebSocket (`video.progress`,
// applied in place); a job's start or end and a failure arrive as video events, each of which reads the
// farm again (coalesced into one read a second). Heartbeats have no event: they are written to Redis
// every 5 s and a silent transcoder turns quiet after 15 s, so the summary is also read every 10 s while
// the page is visible — often enough to see a transcoder come or go quiet, far from a hot loop.
// While the tab is hidden nothing is read: the page reads everything again once it is visible.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import { type FeedStatus, LibraryFeed } from "../api/realtime.ts";
import type { FailedFarmJob, FarmOverview, RealtimeEvent } from "../api/types.ts";
import { applyFarmTick, keepNewerProgress, tickRun } from "./farm-ticks.ts";

const SUMMARY_REFRESH_MS = 10_000;
/** Video events come in bursts (a job ends: ready, then the next one's ticks): one read for a burst. */
const EVENT_COALESCE_MS = 1000;

export type SummaryLoad =
  | { status: "loading" }
  | { status: "error"; message: string }
  /** `readAt`: performance.now() of the read, from which the ages shown count on. */
  | { status: "loaded"; farm: FarmOverview; readAt: number; refreshError: string | null };

export type FailedLoad =
  | { status: "loading" }
  | { status: "error"; message: string }
  | { status: "loaded"; jobs: FailedFarmJob[] };

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const visible = () => document.visibilityState === "visible";

export function useFarm(api: ApiClient) {
  const [summary, setSummary] = useState<SummaryLoad>({ status: "loading" });
  const [failed, setFailed] = useState<FailedLoad>({ status: "loading" });
  const [feedStatus, setFeedStatus] = useState<FeedStatus>("connecting");
  const shown = useRef<FarmOverview | null>(null);
  const reading = useRef<{ summary: boolean; again: boolean }>({ summary: false, again: false });
  const coalesce = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** Aborted on unmount: no read starts, and none lands, after the page is gone. */
  const lifetime = useRef(new AbortController());
  /** Numbers each failed-list read: an older answer never overwrites a newer one. */
  const failedReads = useRef({ started: 0, landed: 0 });
  /** Runs whose ticks a read did not place (no online transcoder lists them): not read again for them. */
  const unplaced = useRef(new Set<string>());

  const readFailed = useCallback(async () => {
    const { signal } = lifetime.current;
    if (signal.aborted) return;
    const number = ++failedReads.current.started;
    try {
      const jobs = await api.get<FailedFarmJob[]>("/api/admin/farm/failed", signal);
      if (signal.aborted || number < failedReads.current.landed) return;
      failedReads.current.landed = number;
      setFailed({ status: "loaded", jobs });
    } catch (error) {
      if (signal.aborted || number < failedReads.current.landed) return;
      setFailed((previous) =>
        // A list already shown stays; the summary's banner says the server is not answering.
        previous.status === "loaded" ? previous : { status: "error", message: messageOf(error) },
      );
    }
  }, [api]);

  /** One read at a time; a read asked for meanwhile runs once the current one is done. */
  const readSummary = useCallback(async (): Promise<void> => {
    const { signal } = lifetime.current;
    if (signal.aborted) return;
    if (reading.current.summary) {
      reading.current.again = true;
      return;
    }
    reading.current = { summary: true, again: false };
    try {
      const read = await api.get<FarmOverview>("/api/admin/farm", signal);
      if (signal.aborted) return;
      const farm = keepNewerProgress(shown.current, read);
      // A failure count that moved says the failed list did too (a retry elsewhere, a job given up).
      if (shown.current && shown.current.queue.failed !== read.queue.failed) void readFailed();
      shown.current = farm;
      setSummary({ status: "loaded", farm, readAt: performance.now(), refreshError: null });
    } catch (error) {
      if (signal.aborted) return;
      setSummary((previous) =>
        previous.status === "loaded"
          ? { ...previous, refreshError: messageOf(error) }
          : { status: "error", message: messageOf(error) },
      );
    } finally {
      const again = reading.current.again;
      reading.current = { summary: false, again: false };
      // The lifetime now, not the read's: a remount's read asked for meanwhile still runs.
      if (again && !lifetime.current.signal.aborted && visible()) void readSummary();
    }
  }, [api, readFailed]);

  /** A read an event asks for: coalesced; none while the tab is hidden (showing it reads everything). */
  const readSoon = useCallback(
    (failedToo = false) => {
      if (!visible()) return;
      if (failedToo) void readFailed();
      if (coalesce.current) return;
      coalesce.current = setTimeout(() => {
        coalesce.current = null;
        // Hidden meanwhile: showing the tab reads it.
        if (visible()) void readSummary();
      }, EVENT_COALESCE_MS);
    },
    [readFailed, readSummary],
  );

  const apply = useCallback(
    (event: RealtimeEvent) => {
      switch (event.type) {
        case "video.progress": {
          const farm = shown.current;
          const ticked = farm ? applyFarmTick(farm, event) : "not-shown";
          if (ticked === "not-shown") {
            // One read for a run the farm does not show yet; if that read does not show it either (a
            // quiet transcoder's, one not beating yet), the next periodic read will.
            const run = tickRun(event);
            if (unplaced.current.has(run)) return;
            unplaced.current.add(run);
            readSoon();
            return;
          }
          if (ticked === farm) return;
          shown.current = ticked;
          setSummary((previous) => (previous.status === "loaded" ? { ...previous, farm: ticked } : previous));
          return;
        }
        case "video.updated":
          readSoon(event.state === "error");
          return;
        case "video.created":
        case "video.ready":
        case "video.deleted":
          readSoon();
          return;
        default:
          return;
      }
    },
    [readSoon],
  );

  const handlers = useRef({ apply, readSummary, readFailed });
  handlers.current = { apply, readSummary, readFailed };
  useEffect(() => {
    lifetime.current = new AbortController();
    const readBoth = () => {
      unplaced.current.clear();
      void handlers.current.readSummary();
      void handlers.current.readFailed();
    };
    readBoth();
    const feed = new LibraryFeed(api, {
      event: (event) => handlers.current.apply(event),
      status: setFeedStatus,
      // Events sent while the socket was away are gone: read everything again (hidden: once shown).
      resumed: () => {
        if (visible()) readBoth();
      },
    });
    feed.start();
    const timer = setInterval(() => {
      if (!visible()) return;
      unplaced.current.clear();
      void handlers.current.readSummary();
    }, SUMMARY_REFRESH_MS);
    const onVisible = () => {
      if (visible()) readBoth();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      lifetime.current.abort();
      feed.stop();
      clearInterval(timer);
      if (coalesce.current) clearTimeout(coalesce.current);
      coalesce.current = null;
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [api]);

  /** After a retry, or one refused: the list and the queue as they are now. */
  const refreshAll = useCallback(async () => {
    await Promise.all([readFailed(), readSummary()]);
  }, [readFailed, readSummary]);

  return { summary, failed, feedStatus, refreshAll, reload: refreshAll };
}
