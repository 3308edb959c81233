// A new file for the video (PUT /api/admin/videos/:id/file): it becomes a new revision, and the one
// viewers watch now stays playable until the new one is published. Both revisions' states are shown,
// the new one live from the WebSocket.
import { useId, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminVideo } from "../api/types.ts";
import { ProgressBar } from "../library/progress-bar.tsx";
import { StateBadge } from "../library/video-row.tsx";
import { formatBytes } from "../ui/format.ts";

type Sending = { sent: number; total: number } | null;

export function ReplaceFile({
  api,
  video,
  onReplaced,
}: {
  api: ApiClient;
  video: AdminVideo;
  onReplaced: (video: AdminVideo) => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [sending, setSending] = useState<Sending>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const inputId = useId();

  const send = async () => {
    if (!file) return;
    setFailure(null);
    setSending({ sent: 0, total: file.size });
    try {
      const form = new FormData();
      form.append("file", file);
      const replaced = await api.upload<AdminVideo>(
        "PUT",
        `/api/admin/videos/${video.id}/file`,
        form,
        (sent, total) => setSending({ sent, total }),
      );
      setFile(null);
      onReplaced(replaced);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setSending(null);
    }
  };

  const published = video.published_revision ?? null;
  const transcodingNew = published !== null && video.revision > published;
  return (
    <section className="panel" aria-labelledby={`${inputId}-title`}>
      <h2 className="panel-title" id={`${inputId}-title`}>
        File
      </h2>
      <ul className="revisions" aria-label="Revisions">
        {transcodingNew && (
          <li className="revision" data-revision={video.revision}>
            <div className="revision-head">
              <span className="revision-name">Revision {video.revision}</span>
              <StateBadge state={video.processing_state} />
              <span className="muted">new file</span>
            </div>
            {video.processing_state === "processing" && (
              <ProgressBar progress={video.progress} title={`revision ${video.revision}`} />
            )}
            {video.processing_state === "error" && (
              <p className="error-message">{video.processing_error ?? "Transcoding failed."}</p>
            )}
          </li>
        )}
        {published !== null && (
          <li className="revision" data-revision={published}>
            <div className="revision-head">
              <span className="revision-name">Revision {published}</span>
              <span className="badge badge-ready">Playing</span>
              <span className="muted">what viewers watch</span>
            </div>
            {transcodingNew && (
              <p className="revision-note" role="status">
                Revision {published} stays playable until revision {video.revision} is ready.
              </p>
            )}
          </li>
        )}
        {published === null && (
          <li className="revision" data-revision={video.revision}>
            <div className="revision-head">
              <span className="revision-name">Revision {video.revision}</span>
              <StateBadge state={video.processing_state} />
            </div>
            {video.processing_state === "processing" && (
              <ProgressBar progress={video.progress} title={`revision ${video.revision}`} />
            )}
          </li>
        )}
      </ul>
      <div className="replace">
        <div className="field">
          <label htmlFor={inputId}>Replace the file</label>
          <input
            id={inputId}
            className="input input-file"
            type="file"
            accept="video/*,.mkv,.ts,.m2ts"
            disabled={sending !== null}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
          <p className="field-hint">
            The new file becomes revision {video.revision + 1}; the current one stays playable until it is
            ready.
          </p>
        </div>
        <button
          type="button"
          className="button button-primary"
          onClick={send}
          disabled={!file || sending !== null}
        >
          {sending
            ? `Sending… ${Math.floor((100 * sending.sent) / Math.max(1, sending.total))}%`
            : "Upload new file"}
        </button>
        {sending && (
          <p className="muted" aria-live="polite">
            {formatBytes(sending.sent)} of {formatBytes(sending.total)}
          </p>
        )}
        {failure && (
          <p className="form-error" role="alert">
            {failure}
          </p>
        )}
      </div>
    </section>
  );
}
