// The job's history: every run of every revision (GET /api/admin/videos/:id/attempts: worker, start,
// duration, outcome, error). Where the api has no such route yet (404) the section says so; it never
// shows made-up rows. Read again whenever the video's state changes.
import { useEffect, useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import type { AdminVideo, TranscodeAttempt } from "../api/types.ts";
import { StateBadge } from "../library/video-row.tsx";
import { formatDate, formatTime, stageLabel } from "../ui/format.ts";

type History =
  | { status: "loading" }
  | { status: "unavailable" }
  | { status: "error"; message: string }
  | { status: "loaded"; attempts: TranscodeAttempt[] };

const OUTCOME_LABELS: Record<TranscodeAttempt["outcome"], string> = {
  running: "Running",
  ready: "Ready",
  error: "Failed",
  failed: "Failed, retried",
  interrupted: "Interrupted",
};

const formatSeconds = (seconds: number | null) =>
  seconds === null ? "—" : seconds < 90 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds / 60)} min`;

export function JobHistory({ api, video }: { api: ApiClient; video: AdminVideo }) {
  const [history, setHistory] = useState<History>({ status: "loading" });
  const key = `${video.id}:${video.revision}:${video.processing_state}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: read again on each state change (key)
  useEffect(() => {
    let current = true;
    api
      .get<TranscodeAttempt[]>(`/api/admin/videos/${video.id}/attempts`)
      .then((attempts) => current && setHistory({ status: "loaded", attempts }))
      .catch((error) => {
        if (!current) return;
        if (error instanceof ApiRequestError && error.status === 404) setHistory({ status: "unavailable" });
        else setHistory({ status: "error", message: error instanceof Error ? error.message : String(error) });
      });
    return () => {
      current = false;
    };
  }, [api, key]);

  return (
    <section className="panel" aria-labelledby="history-title">
      <h2 className="panel-title" id="history-title">
        Job history
      </h2>
      <dl className="facts">
        <div>
          <dt>Now</dt>
          <dd>
            <StateBadge state={video.processing_state} />
            {video.processing_state === "processing" &&
              ` ${stageLabel(video.progress.stage)}, ${Math.floor(video.progress.percent)}%`}
          </dd>
        </div>
        {video.processing_error && (
          <div>
            <dt>Last error</dt>
            <dd className="error-message">{video.processing_error}</dd>
          </div>
        )}
      </dl>
      {history.status === "loading" && <p className="muted">Loading the attempts…</p>}
      {history.status === "unavailable" && (
        <p className="muted" data-history="unavailable">
          The attempts of this job are not available from this server.
        </p>
      )}
      {history.status === "error" && (
        <p className="form-error" role="alert">
          {history.message}
        </p>
      )}
      {history.status === "loaded" &&
        (history.attempts.length === 0 ? (
          <p className="muted">No attempt has started yet.</p>
        ) : (
          <table className="history-table">
            <thead>
              <tr>
                <th scope="col">Revision · try</th>
                <th scope="col">Worker</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {history.attempts.map((attempt) => (
                <tr key={`${attempt.revision}-${attempt.attempt}`}>
                  <td>
                    r{attempt.revision} · #{attempt.attempt}
                  </td>
                  <td>{attempt.worker}</td>
                  <td>
                    <time dateTime={attempt.started_at}>
                      {formatDate(attempt.started_at)} {formatTime(attempt.started_at)}
                    </time>
                  </td>
                  <td>{formatSeconds(attempt.duration_seconds)}</td>
                  <td>
                    {OUTCOME_LABELS[attempt.outcome]}
                    {attempt.error && <span className="error-message"> {attempt.error}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
