// One file of the upload panel: its details (title, category, description: editable before and while
// it uploads), its progress (a bar and a caption of fixed size: percent, bytes, speed, time left), what
// it can do now (start, pause, resume, cancel) and its outcome (refused with the api's reason, the
// connection lost, or done with a link to the video in the library).

import { formatBytes, formatEta, formatRate } from "../ui/format.ts";
import { ProgressTrack } from "../ui/progress-track.tsx";
import type { UploadPhase, VideoDetails } from "./upload-task.ts";
import type { UploadEntry } from "./use-uploads.ts";

const PHASE_LABELS: Record<UploadPhase, string> = {
  ready: "Ready to upload",
  uploading: "Uploading",
  retrying: "Reconnecting",
  paused: "Paused",
  offline: "Connection lost",
  refused: "Refused",
  finishing: "Finishing",
  done: "Uploaded",
  cancelled: "Cancelled",
};

const PHASE_TONES: Record<UploadPhase, string> = {
  ready: "pending",
  uploading: "processing",
  retrying: "pending",
  paused: "pending",
  offline: "error",
  refused: "error",
  finishing: "processing",
  done: "ready",
  cancelled: "pending",
};

function caption(entry: UploadEntry): string {
  const { phase, bytesSent, bytesTotal, bytesPerSecond, secondsLeft } = entry.snapshot;
  const amount = `${formatBytes(bytesSent)} of ${formatBytes(bytesTotal)}`;
  if (phase === "uploading") {
    const rate = formatRate(bytesPerSecond);
    return [amount, rate, formatEta(secondsLeft)].filter(Boolean).join(" · ");
  }
  if (phase === "done") return `${formatBytes(bytesTotal)} sent`;
  if (phase === "finishing") return "Creating the video…";
  if (phase === "refused") return "Not uploaded";
  if (phase === "cancelled") return "Stopped, nothing kept";
  return amount;
}

export function UploadCard({
  entry,
  categories,
  onDismiss,
}: {
  entry: UploadEntry;
  categories: string[];
  onDismiss: () => void;
}) {
  const { task, snapshot } = entry;
  const { phase, details, message, videoId, resumable } = snapshot;
  const name = task.file.name;
  const percent = snapshot.bytesTotal > 0 ? (snapshot.bytesSent / snapshot.bytesTotal) * 100 : 0;
  const editable = !["finishing", "done", "cancelled", "refused"].includes(phase);
  const edit = (change: Partial<VideoDetails>) => task.editDetails({ ...details, ...change });
  const id = entry.key;
  const transferring = phase === "uploading" || phase === "retrying";
  // A refusal, a lost connection, or a detail missing before the start: read out at once.
  const alarming = phase === "refused" || phase === "offline" || (phase === "ready" && message !== null);
  return (
    <li className={`upload-card upload-${phase}`} data-phase={phase} aria-label={name}>
      <div className="upload-head">
        <div className="upload-file">
          <span className="upload-file-name" title={name}>
            {name}
          </span>
          <span className="upload-file-size">{formatBytes(task.file.size)}</span>
        </div>
        <span className={`badge badge-${PHASE_TONES[phase]}`}>{PHASE_LABELS[phase]}</span>
      </div>

      <div className="upload-fields">
        <div className="field">
          <label htmlFor={`${id}-title`}>Title</label>
          <input
            id={`${id}-title`}
            value={details.title}
            maxLength={255}
            disabled={!editable}
            onChange={(event) => edit({ title: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-category`}>Category</label>
          <input
            id={`${id}-category`}
            list={`${id}-categories`}
            value={details.category}
            disabled={!editable}
            onChange={(event) => edit({ category: event.target.value })}
          />
          <datalist id={`${id}-categories`}>
            {categories.map((category) => (
              <option key={category} value={category} />
            ))}
          </datalist>
        </div>
        <div className="field upload-description">
          <label htmlFor={`${id}-description`}>Description</label>
          <textarea
            id={`${id}-description`}
            rows={2}
            value={details.description}
            disabled={!editable}
            onChange={(event) => edit({ description: event.target.value })}
          />
        </div>
      </div>

      <div className="upload-progress">
        <ProgressTrack
          percent={percent}
          label={`Uploading ${name}`}
          valueNow={Math.floor(percent)}
          valueText={`${Math.floor(percent)} percent, ${caption(entry)}`}
        />
        <div className="progress-caption">
          <span className="progress-percent">{Math.floor(percent)}%</span>
          <span className="upload-caption">{caption(entry)}</span>
        </div>
      </div>

      <div className="upload-footer">
        <p
          className={`upload-message ${alarming ? "upload-message-error" : ""}`}
          role={alarming ? "alert" : "status"}
        >
          {message ??
            (phase === "ready" && resumable
              ? "Sent in part before: it goes on where it stopped."
              : phase === "done" && videoId !== null
                ? "The video is in the library and is being transcoded."
                : "")}
          {phase === "done" && videoId !== null && (
            <>
              {" "}
              <a href={`/studio/?q=${encodeURIComponent(details.title)}`} data-video-id={videoId}>
                Open in the library
              </a>
            </>
          )}
        </p>
        <div className="upload-actions">
          {phase === "ready" && (
            <button type="button" className="button button-primary button-small" onClick={() => task.start()}>
              {resumable ? "Resume upload" : "Start upload"}
            </button>
          )}
          {transferring && (
            <button
              type="button"
              className="button button-small"
              onClick={() => task.pause()}
              aria-label={`Pause ${name}`}
            >
              Pause
            </button>
          )}
          {(phase === "paused" || phase === "offline") && (
            <button
              type="button"
              className="button button-primary button-small"
              onClick={() => task.resume()}
              aria-label={`Resume ${name}`}
            >
              Resume
            </button>
          )}
          {(phase === "ready" || transferring || phase === "paused" || phase === "offline") && (
            <button
              type="button"
              className="button button-quiet button-small"
              onClick={() => void task.cancel()}
              aria-label={`Cancel ${name}`}
            >
              Cancel
            </button>
          )}
          {(phase === "done" || phase === "refused" || phase === "cancelled") && (
            <button
              type="button"
              className="button button-quiet button-small"
              onClick={onDismiss}
              aria-label={`Remove ${name} from the list`}
            >
              Remove
            </button>
          )}
        </div>
      </div>
    </li>
  );
}
