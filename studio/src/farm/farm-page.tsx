// The Farm page (/studio/farm): the transcoders online and gone quiet, the queue's depth and the
// throughput, the failed jobs with Retry, and the way to the queue dashboard. Figures sit in boxes of
// fixed size with tabular digits, so live updates never move the layout.
import "./farm.css";
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { FeedStatus } from "../api/realtime.ts";
import type { FailedFarmJob, FarmOverview, RetriedFarmJob } from "../api/types.ts";
import { FailedJobs } from "./failed-jobs.tsx";
import { retriedMessage } from "./farm-format.ts";
import { TranscoderCard } from "./transcoder-card.tsx";
import { useFarm } from "./use-farm.ts";

export const isFarmPath = (path: string) => path === "/studio/farm" || path === "/studio/farm/";

const FEED_LABELS: Record<FeedStatus, string> = {
  connecting: "Connecting…",
  live: "Live updates",
  offline: "Reconnecting…",
};

/** Seconds since `readAt` (performance.now()), ticking once a second for the ages shown. */
function useSecondsSince(readAt: number | null): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(timer);
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

function Transcoders({ farm, secondsSinceRead }: { farm: FarmOverview; secondsSinceRead: number }) {
  const online = farm.transcoders;
  const quiet = farm.quiet_transcoders;
  return (
    <section className="farm-section" aria-labelledby="transcoders-title">
      <div className="section-head">
        <h2 id="transcoders-title">Transcoders</h2>
        <p className="section-count">
          {online.length} online{quiet.length > 0 ? `, ${quiet.length} quiet` : ""}
        </p>
      </div>
      {online.length === 0 && quiet.length === 0 ? (
        <div className="farm-panel empty empty-compact">
          <h3>No transcoder online</h3>
          <p>A transcoder shows here within seconds of starting, with its encoder and the job it runs.</p>
        </div>
      ) : (
        <ul className="transcoders">
          {online.map((transcoder) => (
            <TranscoderCard
              key={transcoder.name}
              transcoder={transcoder}
              quiet={false}
              secondsSinceRead={secondsSinceRead}
            />
          ))}
          {quiet.map((transcoder) => (
            <TranscoderCard
              key={transcoder.name}
              transcoder={transcoder}
              quiet
              secondsSinceRead={secondsSinceRead}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

export function FarmPage({ api }: { api: ApiClient }) {
  const { summary, failed, feedStatus, refreshAll, reload } = useFarm(api);
  const [retried, setRetried] = useState<{ jobId: string; message: string } | null>(null);
  /** Whether a list read since the retry lacked the job: its return then is a new failure. */
  const retriedLeft = useRef(false);
  const secondsSinceRead = useSecondsSince(summary.status === "loaded" ? summary.readAt : null);

  useEffect(() => {
    document.title = "Farm · Videoflix Studio";
  }, []);

  const onRetried = useCallback(
    (job: FailedFarmJob, answer: RetriedFarmJob) => {
      retriedLeft.current = false;
      setRetried({ jobId: answer.job_id, message: retriedMessage(job.title, answer.job_id) });
      void refreshAll();
    },
    [refreshAll],
  );

  // The notice says the job was queued again; once it has failed anew its row says more, so it goes.
  useEffect(() => {
    if (!retried || failed.status !== "loaded") return;
    const listed = failed.jobs.some((job) => job.job_id === retried.jobId);
    if (!listed) retriedLeft.current = true;
    else if (retriedLeft.current) setRetried(null);
  }, [failed, retried]);

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
          {summary.status === "loaded" && (
            <a className="button" href={summary.farm.dashboard_url}>
              Queue dashboard
            </a>
          )}
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
          {summary.refreshError !== null && (
            <p className="form-error farm-banner" role="alert">
              The figures could not be refreshed ({summary.refreshError}); they are tried again shortly.
            </p>
          )}
          <Figures farm={summary.farm} />
          <Transcoders farm={summary.farm} secondsSinceRead={secondsSinceRead} />
        </>
      )}
      <section className="farm-section" aria-labelledby="failed-title">
        <div className="section-head">
          <h2 id="failed-title">Failed jobs</h2>
          {failed.status === "loaded" && failed.jobs.length > 0 && (
            <p className="section-count">{failed.jobs.length} kept by the queue</p>
          )}
        </div>
        <div role="status" className="farm-retried">
          {retried !== null && <p className="notice">{retried.message}</p>}
        </div>
        {failed.status === "loading" && <p className="muted">Loading the failed jobs…</p>}
        {failed.status === "error" && (
          <p className="form-error" role="alert">
            The failed jobs could not be loaded: {failed.message}
          </p>
        )}
        {failed.status === "loaded" && <FailedJobs api={api} jobs={failed.jobs} onRetried={onRetried} />}
      </section>
    </main>
  );
}
