// The upload panel: a drop zone (and a file picker) for one or many video files, each uploaded over tus
// with its own card, and the unfinished uploads of an earlier visit that resume when the same file is
// chosen again.
import { type DragEvent, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";
import { formatBytes, formatDate, formatTime } from "../ui/format.ts";
import { UploadCard } from "./upload-card.tsx";
import { UPLOADS_ENDPOINT } from "./upload-task.ts";
import { useUploads } from "./use-uploads.ts";

export function UploadPage({ api }: { api: ApiClient }) {
  const [categories, setCategories] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const [maxBytes, setMaxBytes] = useState<number | null>(null);
  const uploads = useUploads(api, categories[0] ?? "", maxBytes);

  useEffect(() => {
    // tus discovery: the largest file the api takes (MAX_UPLOAD_BYTES).
    fetch(UPLOADS_ENDPOINT, { method: "OPTIONS", headers: { "Tus-Resumable": "1.0.0" } })
      .then((response) => {
        const size = Number(response.headers.get("Tus-Max-Size"));
        setMaxBytes(Number.isFinite(size) && size > 0 ? size : null);
      })
      .catch(() => setMaxBytes(null));
  }, []);

  useEffect(() => {
    api
      .get<AdminCategory[]>("/api/admin/categories")
      .then((list) => setCategories(list.map((category) => category.name).sort((a, b) => a.localeCompare(b))))
      .catch(() => setCategories([]));
  }, [api]);

  const dropped = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length > 0) uploads.addFiles(event.dataTransfer.files);
  };

  return (
    <main className="page" id="main">
      <div className="page-header">
        <div>
          <h1>Upload</h1>
          <p className="page-lede">
            Add video files, name them, and they go up in chunks that survive a dropped connection.
          </p>
        </div>
      </div>

      <section
        className={`dropzone ${dragging ? "dropzone-active" : ""}`}
        aria-label="Drop zone"
        onDragEnter={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragOver={(event) => {
          event.preventDefault();
          event.dataTransfer.dropEffect = "copy";
        }}
        onDragLeave={(event) => {
          if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={dropped}
      >
        <svg
          className="dropzone-icon"
          viewBox="0 0 24 24"
          width="36"
          height="36"
          aria-hidden="true"
          focusable="false"
        >
          <path
            d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
        <p className="dropzone-title">Drag video files here</p>
        <p className="dropzone-hint">
          MP4, MOV, MKV, WebM… one or many at once
          {maxBytes !== null && `, up to ${formatBytes(maxBytes)} each`}.
        </p>
        <button type="button" className="button button-primary" onClick={() => picker.current?.click()}>
          Choose files
        </button>
        <input
          ref={picker}
          className="visually-hidden"
          type="file"
          multiple
          accept="video/*,.mkv,.mov,.mp4,.webm,.avi,.mxf,.ts"
          aria-label="Choose video files"
          tabIndex={-1}
          onChange={(event) => {
            if (event.target.files) uploads.addFiles(event.target.files);
            event.target.value = "";
          }}
        />
      </section>

      {uploads.unfinished.length > 0 && (
        <section className="unfinished" aria-labelledby="unfinished-title">
          <h2 id="unfinished-title">Unfinished uploads</h2>
          <p className="muted">
            These stopped before their last byte in this browser. Choose the same file again to go on where it
            stopped.
          </p>
          <ul className="unfinished-list">
            {uploads.unfinished.map((upload) => (
              <li key={upload.storageKey} className="unfinished-item">
                <span className="unfinished-name">{upload.title || upload.fileName}</span>
                <span className="muted">
                  {upload.fileName}
                  {upload.size !== null && ` · ${formatBytes(upload.size)}`} · started{" "}
                  {formatDate(upload.startedAt)} {formatTime(upload.startedAt)}
                </span>
                <button
                  type="button"
                  className="button button-quiet button-small"
                  onClick={() => void uploads.discard(upload)}
                  aria-label={`Discard the unfinished upload of ${upload.fileName}`}
                >
                  Discard
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}

      {uploads.entries.length > 0 && (
        <section aria-label="Files">
          <ul className="upload-list">
            {uploads.entries.map((entry) => (
              <UploadCard
                key={entry.key}
                entry={entry}
                categories={categories}
                onDismiss={() => uploads.dismiss(entry.key)}
              />
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
