// One video of the library: poster, title and category, state (with live progress or the error and
// Retry), duration, renditions and when it was created. A table row that becomes a card on a phone.
import { useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminVideo } from "../api/types.ts";
import { formatDate, formatDuration, formatRenditions, formatTime } from "../ui/format.ts";
import { ProgressBar } from "./progress-bar.tsx";

const STATE_LABELS = {
  pending: "Queued",
  processing: "Processing",
  ready: "Ready",
  error: "Failed",
} as const;

export function StateBadge({ state }: { state: AdminVideo["processing_state"] }) {
  return <span className={`badge badge-${state}`}>{STATE_LABELS[state]}</span>;
}

function Poster({ video }: { video: AdminVideo }) {
  const [broken, setBroken] = useState(false);
  if (!video.thumbnail_url || broken) {
    return (
      <div className="poster poster-empty" aria-hidden="true">
        <svg viewBox="0 0 24 24" width="22" height="22" focusable="false" aria-hidden="true">
          <path d="M8 5v14l11-7z" fill="currentColor" />
        </svg>
      </div>
    );
  }
  return (
    <img
      className="poster"
      src={video.thumbnail_url}
      alt=""
      width={112}
      height={63}
      loading="lazy"
      decoding="async"
      onError={() => setBroken(true)}
    />
  );
}

function RetryButton({
  api,
  video,
  onRetried,
}: {
  api: ApiClient;
  video: AdminVideo;
  onRetried: (video: AdminVideo) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const retry = async () => {
    setBusy(true);
    setFailure(null);
    try {
      onRetried(await api.post<AdminVideo>(`/api/admin/videos/${video.id}/retry`));
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className="button button-small"
        onClick={retry}
        disabled={busy}
        aria-label={`Retry transcoding ${video.title}`}
      >
        {busy ? "Retrying…" : "Retry"}
      </button>
      {failure && (
        <p className="row-failure" role="alert">
          {failure}
        </p>
      )}
    </>
  );
}

export function VideoRow({
  api,
  video,
  onChanged,
}: {
  api: ApiClient;
  video: AdminVideo;
  onChanged: (video: AdminVideo) => void;
}) {
  const renditions = formatRenditions(video.renditions);
  return (
    <tr className="video-row" data-video-id={video.id} data-state={video.processing_state}>
      <td className="cell-poster">
        <Poster video={video} />
      </td>
      <th scope="row" className="cell-title">
        <a className="video-title" href={`/studio/videos/${video.id}`}>
          {video.title}
        </a>
        <span className="video-category">{video.category}</span>
      </th>
      <td className="cell-state" data-label="State">
        <StateBadge state={video.processing_state} />
        {video.processing_state === "processing" && (
          <ProgressBar progress={video.progress} title={video.title} />
        )}
        {video.processing_state === "pending" && <p className="state-note">Waiting for a transcoder</p>}
        {video.processing_state === "error" && (
          <div className="state-error">
            <p className="error-message">{video.processing_error ?? "Transcoding failed."}</p>
            <RetryButton api={api} video={video} onRetried={onChanged} />
          </div>
        )}
      </td>
      <td className="cell-duration" data-label="Duration">
        {formatDuration(video.duration_seconds)}
      </td>
      <td className="cell-renditions" data-label="Renditions">
        {renditions.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          <ul className="chips" aria-label={`Renditions of ${video.title}`}>
            {renditions.map((name) => (
              <li key={name} className="chip">
                {name}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td className="cell-created" data-label="Created">
        <time dateTime={video.created_at}>
          {formatDate(video.created_at)}
          <span className="muted"> {formatTime(video.created_at)}</span>
        </time>
      </td>
    </tr>
  );
}
