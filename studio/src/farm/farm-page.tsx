// The Farm page (/studio/farm): the transcoders online and gone quiet, the queue's depth and the
// throughput, the failed jobs with Retry, and the way to the queue dashboard. Figures sit in boxes of
// fixed size with tabular digits, so live updates never move the layout; what comes and goes (a refresh
// that failed, a retry's outcome) is told in a corner of its own, over the page, never inserted into it.
import "./farm.css";
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { FeedStatus } from "../api/realtime.ts";
import type { FailedFarmJob, FarmOverview, RetriedFarmJob } from "../api/types.ts";
import { FailedJobs } from "./failed-jobs.tsx";
import { failedAgain, failedCount, retriedMessage } from "./farm-format.ts";
import { TranscoderCard } from "./transcoder-card.tsx";
import { useFarm } from "./use-farm.ts";

export const isFarmPath = (path: string) => path === "/studio/farm" || path === "/studio/farm/";

/** Where the dashboard is before the farm's first read gives its full address (the same origin's). */
const DASHBOARD_PATH = "/admin/queues";

const FEED_LABELS: Record<FeedStatus, string> = {
  connecting: "Connecting…",
  live: "Live updates",
  offline: "Reconnecting…",
};

/** What a Retry came to: queued again (until that job fails anew), or refused with the api's reason. */
type RetryNotice =
  | { kind: "retried"; jobId: string; failedAt: string | null; message: string }
  | { kind: "refused"; message: string };

/**
 * Seconds since `readAt` (performance.now()), ticking once a second for the ages shown, and not at all
 * while the tab is hidden (nobody sees the ages; showing the tab reads the farm again anyway).
 */
function useSecondsSince(readAt: number | null): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | null = null;
    const follow = () => {
      if (timer) clearInterval(timer);
      timer = null;
      if (document.visibilityState !== "visible") return;
      setNow(performance.now());
      timer = setInterval(() => setNow(performance.now()), 1000);
    };
    follow();
    document.addEventListener("visibilitychange", follow);
    return () => {
      if (timer) clearInterval(timer);
      document.removeEventListener("visibilitychange", follow);
    };
  }, []);
  return readAt === null ? 0 : Math.max(0, (now - readAt) / 1000);
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd className="stat-value">{value.toLocaleString("en-GB")}</dd>
    </div>
  );
}

function Figures({ farm }: { farm: FarmOverview }) {
  const { queue, throughput } = farm;
  return (
    <div className="farm-figures">
      <section className="farm-panel" aria-labelledby="queue-title">
        <h2 className="farm-panel-title" id="queue-title">
          Queue
        </h2>
        <dl className="stats stats-queue">
          <Stat label="Waiting" value={queue.waiting} />
          <Stat label="Active" value={queue.active} />
          <Stat label="Delayed" value={queue.delayed} />
          <Stat label="Failed" value={queue.failed} />
        </dl>
        <p className="farm-panel-note">Delayed jobs wait out the back-off before their next try.</p>
      </section>
      <section className="farm-panel" aria-labelledby="throughput-title">
        <h2 className="farm-panel-title" id="throughput-title">
          Throughput
        </h2>
        <dl className="stats stats-throughput">
          <Stat label="Done · 15 min" value={throughput.last_15_minutes.completed} />
          <Stat label="Done · 1 hour" value={throughput.last_hour.completed} />
          <Stat label="Failed · 1 hour" value={throughput.last_hour.failed} />
        </dl>
        <p className="farm-panel-note">Runs that ended: ready, or failed (retried or given up).</p>
      </section>
    </div>
  );
}

function Transcoders({
  farm,
  secondsSinceRead,
  refreshFailed,
}: {
  farm: FarmOverview;
  secondsSinceRead: number;
  refreshFailed: boolean;
}) {
  const online = farm.transcoders;
  const quiet = farm.quiet_transcoders;
  // One list by name: a transcoder that goes quiet keeps its place (and its card its size).
  const all = [
    ...online.map((transcoder) => ({ transcoder, quiet: false })),
    ...quiet.map((transcoder) => ({ transcoder, quiet: true })),
  ].sort((a, b) => a.transcoder.name.localeCompare(b.transcoder.name));
  return (
    <section className="farm-section" aria-labelledby="transcoders-title">
      <div className="section-head">
        <h2 id="transcoders-title">Transcoders</h2>
        <p className="section-count">
          {online.length} online{quiet.length > 0 ? `, ${quiet.length} quiet` : ""}
        </p>
      </div>
      {all.length === 0 ? (
        <div className="farm-panel empty empty-compact">
          <h3>No transcoder online</h3>
          <p>A transcoder shows here within seconds of starting, with its encoder and the job it runs.</p>
        </div>
      ) : (
        <ul className="transcoders">
          {all.map(({ transcoder, quiet }) => (
            <TranscoderCard
              key={transcoder.name}
              transcoder={transcoder}
              quiet={quiet}
              secondsSinceRead={secondsSinceRead}
              refreshFailed={refreshFailed}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

export function FarmPage({ api }: { api: ApiClient }) {
  const { summary, failed, feedStatus, refreshAll, reload } = useFarm(api);
  const [notice, setNotice] = useState<RetryNotice | null>(null);
  const noticeRef = useRef<HTMLParagraphElement>(null);
  const failedTitle = useRef<HTMLHeadingElement>(null);
  const secondsSinceRead = useSecondsSince(summary.status === "loaded" ? summary.readAt : null);

  useEffect(() => {
    document.title = "Farm · Videoflix Studio";
  }, []);

  // The row whose Retry had the focus goes (or may): the focus goes to what the page says about it.
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  const onRetried = useCallback(
    (job: FailedFarmJob, answer: RetriedFarmJob) => {
      setNotice({
        kind: "retried",
        jobId: answer.job_id,
        failedAt: job.failed_at,
        message: retriedMessage(job.title, answer.job_id),
      });
      void refreshAll();
    },
    [refreshAll],
  );

  const onRefused = useCallback(
    (_job: FailedFarmJob, reason: string) => {
      setNotice({ kind: "refused", message: `Not retried: ${reason}` });
      // The list was behind the queue: it is read again (the row goes, or says why it cannot be retried).
      void refreshAll();
    },
    [refreshAll],
  );

  const dismiss = () => {
    setNotice(null);
    failedTitle.current?.focus();
  };

  // The notice says the job was queued again; once it has failed anew its row says more, so it goes.
  useEffect(() => {
    if (notice?.kind === "retried" && failed.status === "loaded" && failedAgain(notice, failed.jobs)) {
      setNotice(null);
    }
  }, [failed, notice]);

  const refreshError = summary.status === "loaded" ? summary.refreshError : null;
  return (
    <main className="page farm-page" id="main">
      <div className="page-header">
        <div>
          <h1>Farm</h1>
          <p className="page-lede">The transcoders, the transcode queue and the jobs that failed.</p>
        </div>
        <div className="farm-header-side">
          <p className={`feed feed-${feedStatus}`} role="status">
            <span className="feed-dot" aria-hidden="true" />
            {FEED_LABELS[feedStatus]}
          </p>
          <a
            className="button"
            href={summary.status === "loaded" ? summary.farm.dashboard_url : DASHBOARD_PATH}
          >
            Queue dashboard
          </a>
        </div>
      </div>
      {summary.status === "loading" && (
        <div className="farm-panel empty" aria-busy="true">
          <p>Loading the farm…</p>
        </div>
      )}
      {summary.status === "error" && (
        <div className="farm-panel empty empty-error" role="alert">
          <h2>The farm could not be loaded</h2>
          <p>{summary.message}</p>
          <button type="button" className="button" onClick={() => void reload()}>
            Try again
          </button>
        </div>
      )}
      {summary.status === "loaded" && (
        <>
          <Figures farm={summary.farm} />
          <Transcoders
            farm={summary.farm}
            secondsSinceRead={secondsSinceRead}
            refreshFailed={refreshError !== null}
          />
        </>
      )}
      <section className="farm-section" aria-labelledby="failed-title">
        <div className="section-head">
          <h2 id="failed-title" ref={failedTitle} tabIndex={-1}>
            Failed jobs
          </h2>
          {failed.status === "loaded" && failed.jobs.length > 0 && (
            <p className="section-count">
              {failedCount(
                failed.jobs.length,
                summary.status === "loaded" ? summary.farm.queue.failed : null,
              )}
            </p>
          )}
        </div>
        {failed.status === "loading" && <p className="muted">Loading the failed jobs…</p>}
        {failed.status === "error" && (
          <p className="form-error" role="alert">
            The failed jobs could not be loaded: {failed.message}
          </p>
        )}
        {failed.status === "loaded" && (
          <FailedJobs api={api} jobs={failed.jobs} onRetried={onRetried} onRefused={onRefused} />
        )}
      </section>
      {/* Over the page, never in it: neither coming nor going moves anything. Both regions are always
          there, so screen readers hear what appears in them. */}
      <div className="farm-toasts">
        <div role="alert" className="farm-toast-slot">
          {refreshError !== null && (
            <p className="form-error farm-toast farm-refresh-error">
              The figures could not be refreshed ({refreshError}); they are tried again shortly.
            </p>
          )}
        </div>
        <div role="status" className="farm-toast-slot farm-retried">
          {notice !== null && (
            <div className={`farm-toast ${notice.kind === "retried" ? "notice" : "form-error"}`}>
              <p ref={noticeRef} tabIndex={-1} className="farm-toast-text">
                {notice.message}
              </p>
              <button type="button" className="button button-small" onClick={dismiss}>
                Dismiss
              </button>
            </div>
          )}
        </div>
      </div>
    </main>
  );
}
