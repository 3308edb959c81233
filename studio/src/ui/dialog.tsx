// A confirmation as a modal <dialog>: showModal makes the rest of the page inert and Escape closes it
// (unless the action is under way); focus starts on Cancel so that Enter never confirms by accident.
// Tab wraps inside the dialog: Chromium's modal would otherwise let it leave for the browser's controls.
import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from "react";

export function keepFocusInside(event: KeyboardEvent<HTMLDialogElement>) {
  if (event.key !== "Tab") return;
  const focusable = [
    ...event.currentTarget.querySelectorAll<HTMLElement>(
      "button:not(:disabled), a[href], input:not(:disabled)",
    ),
  ];
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (!first || !last) return;
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  busyLabel,
  busy,
  failure,
  tone = "danger",
  confirmDisabled = false,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  /** What happens if confirmed, in a sentence or two (and any extra control, such as a checkbox). */
  children: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  /** Why the server refused, shown in the dialog (which stays open). */
  failure: string | null;
  tone?: "danger" | "primary";
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const textId = useId();

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      cancelRef.current?.focus();
    } else if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={dialogRef}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={textId}
      onClose={onClose}
      onKeyDown={keepFocusInside}
      onCancel={(event) => {
        if (busy) event.preventDefault();
      }}
    >
      <h2 className="dialog-title" id={titleId}>
        {title}
      </h2>
      {/* The dialog's description: a screen reader says it with the title (the own-account warning too). */}
      <div className="dialog-text" id={textId}>
        {children}
      </div>
      {failure && (
        <p className="form-error dialog-failure" role="alert">
          {failure}
        </p>
      )}
      <div className="dialog-actions">
        <button ref={cancelRef} type="button" className="button" onClick={onClose} disabled={busy}>
          {failure ? "Close" : "Cancel"}
        </button>
        <button
          type="button"
          className={`button button-${tone}`}
          onClick={onConfirm}
          disabled={busy || confirmDisabled}
        >
          {busy ? busyLabel : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
