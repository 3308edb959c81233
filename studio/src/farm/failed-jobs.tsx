// The failed jobs the queue keeps, the latest first: the video (a link to its page), the readable error,
// when and after how many attempts, and Retry. Retry is offered only where the api would take it: the
// video still exists, is in `error`, and its file was not replaced since; otherwise the row says why.
import { useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { FailedFarmJob, RetriedFarmJob } from "../api/types.ts";
import { formatDate, formatTime } from "../ui/format.ts";
import { retryRefusal } from "./farm-format.ts";

function FailedJobRow({
  api,
  job,
  onRetried,
}: {
  api: ApiClient;
  job: FailedFarmJob;
  onRetried: (job: FailedFarmJob, retried: RetriedFarmJob) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const refusal = retryRefusal(job);
  const name = job.title ?? (job.video_id === null ? job.job_id : `Video ${job.video_id}`);
  const retry = async () => {
    setBusy(true);
    setFailure(null);
    try {
      onRetried(
        job,
        await api.post<RetriedFarmJob>(`/api/admin/farm/failed/${encodeURIComponent(job.job_id)}/retry`),
      );
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
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
            disabled={busy}
            aria-label={`Retry the job of ${name}`}
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
}: {
  api: ApiClient;
  jobs: FailedFarmJob[];
  onRetried: (job: FailedFarmJob, retried: RetriedFarmJob) => void;
}) {
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
        <FailedJobRow key={job.job_id} api={api} job={job} onRetried={onRetried} />
      ))}
    </ul>
  );
}
