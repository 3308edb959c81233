// Deleting a video, behind a confirmation that names it: a modal <dialog> (showModal makes the rest of
// the page inert; Escape closes it), focus on Cancel first so Enter never deletes, Tab kept inside.
import { useEffect, useId, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminVideo } from "../api/types.ts";
import { keepFocusInside } from "../ui/dialog.tsx";

export function DeleteVideo({
  api,
  video,
  onDeleted,
}: {
  api: ApiClient;
  video: AdminVideo;
  onDeleted: () => void;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      cancelRef.current?.focus();
    } else if (!open && dialog.open) dialog.close();
  }, [open]);

  const confirm = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await api.delete(`/api/admin/videos/${video.id}`);
      setOpen(false);
      onDeleted();
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel panel-danger" aria-labelledby={`${titleId}-section`}>
      <h2 className="panel-title" id={`${titleId}-section`}>
        Delete
      </h2>
      <p className="muted">Removes the video, its source, renditions, downloads and posters for good.</p>
      <button type="button" className="button button-danger" onClick={() => setOpen(true)}>
        Delete video…
      </button>
      <dialog
        ref={dialogRef}
        className="dialog"
        aria-labelledby={titleId}
        onClose={() => setOpen(false)}
        onKeyDown={keepFocusInside}
        onCancel={(event) => {
          if (busy) event.preventDefault();
        }}
      >
        <h2 className="dialog-title" id={titleId}>
          Delete “{video.title}”?
        </h2>
        <p className="dialog-text">
          Viewers lose it at once, and its files are removed. This cannot be undone.
        </p>
        {failure && (
          <p className="form-error" role="alert">
            {failure}
          </p>
        )}
        <div className="dialog-actions">
          <button
            ref={cancelRef}
            type="button"
            className="button"
            onClick={() => setOpen(false)}
            disabled={busy}
          >
            Cancel
          </button>
          <button type="button" className="button button-danger" onClick={confirm} disabled={busy}>
            {busy ? "Deleting…" : "Delete for good"}
          </button>
        </div>
      </dialog>
    </section>
  );
}
