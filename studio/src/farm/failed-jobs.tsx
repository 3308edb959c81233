// The failed jobs the queue keeps, the latest first: the video (a link to its page), the readable error,
// when and after how many attempts, and Retry. Retry is offered only where the api would take it: the
// video still exists, is in `error`, and its file was not replaced since; otherwise the row says why.
// A row is one failure (job id and time): a job that fails again is a new row, never a reused one.
import { useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import type { FailedFarmJob, RetriedFarmJob } from "../api/types.ts";
import { formatDate, formatTime } from "../ui/format.ts";
import { failureKey, retryRefusal } from "./farm-format.ts";

export interface RetryOutcomes {
  /** The api took the retry (202). */
  onRetried: (job: FailedFarmJob, retried: RetriedFarmJob) => void;
  /** The api refused it (404: gone; 409: not failed any more, or replaced): the list is behind. */
  onRefused: (job: FailedFarmJob, reason: string) => void;
}

function FailedJobRow({
  api,
  job,
  onRetried,
  onRefused,
}: { api: ApiClient; job: FailedFarmJob } & RetryOutcomes) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const refusal = retryRefusal(job);
  const name = job.title ?? (job.video_id === null ? job.job_id : `Video ${job.video_id}`);
  const retry = async () => {
    // aria-disabled, not disabled, while it runs: the button keeps the focus.
    if (busy) return;
    setBusy(true);
    setFailure(null);
    try {
      onRetried(
        job,
        await api.post<RetriedFarmJob>(`/api/admin/farm/failed/${encodeURIComponent(job.job_id)}/retry`),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ApiRequestError && (error.status === 404 || error.status === 409)) {
        onRefused(job, message);
      } else {
        setFailure(message);
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className="failed-job" data-job-id={job.job_id}>
      <div className="failed-what">
        {job.title !== null && job.video_id !== null ? (
          <a className="failed-title" href={`/studio/videos/${job.video_id}`}>
            {job.title}
          </a>
        ) : (
          <span className="failed-title">{name}</span>
        )}
        <p className="error-message">{job.error}</p>
      </div>
      <dl className="failed-facts">
        <div>
          <dt>Failed</dt>
          <dd>
            {job.failed_at ? (
              <time dateTime={job.failed_at}>
                {formatDate(job.failed_at)} {formatTime(job.failed_at)}
              </time>
            ) : (
              "—"
            )}
          </dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd className="figure">{job.attempts_made}</dd>
        </div>
        <div>
          <dt>Job</dt>
          <dd className="failed-job-id">{job.job_id}</dd>
        </div>
      </dl>
      <div className="failed-action">
        {refusal === null ? (
          <button
            type="button"
            className="button button-small"
            onClick={retry}
            aria-disabled={busy}
            aria-label={busy ? `Retrying the job of ${name}` : `Retry the job of ${name}`}
          >
            {busy ? "Retrying…" : "Retry"}
          </button>
        ) : (
          <p className="muted failed-refusal">{refusal}</p>
        )}
        {failure && (
          <p className="row-failure" role="alert">
            {failure}
          </p>
        )}
      </div>
    </li>
  );
}

export function FailedJobs({
  api,
  jobs,
  onRetried,
  onRefused,
}: { api: ApiClient; jobs: FailedFarmJob[] } & RetryOutcomes) {
  if (jobs.length === 0) {
    return (
      <div className="empty empty-compact">
        <h3>No failed jobs</h3>
        <p>A job that fails for good shows here with its error and a Retry.</p>
      </div>
    );
  }
  return (
    <ul className="failed-list">
      {jobs.map((job) => (
        <FailedJobRow key={failureKey(job)} api={api} job={job} onRetried={onRetried} onRefused={onRefused} />
      ))}
    </ul>
  );
}
