// Deleting a category, behind a confirmation that names it. As it opens the dialog reads the category
// afresh (the list's count may be old either way): while videos use it, it says so and offers no
// Delete; when it is gone the row goes. A refusal (409 in_use, 404) is shown with its reason and the
// list learns it; any other failure leaves Delete to try again.
import { useEffect, useRef, useState } from "react";
import type { AdminCategory } from "../api/types.ts";
import { ConfirmDialog } from "../ui/dialog.tsx";
import {
  checkAfterRefusal,
  type DeleteCheck,
  type DeleteRefusal,
  deleteBlocked,
  deleteCheckOf,
  deleteRefusal,
  videoCountLabel,
} from "./category-rules.ts";

export function DeleteCategory({
  category,
  onFetch,
  onFetched,
  onDelete,
  onRefused,
  onClose,
}: {
  /** The category to delete; null: the dialog is closed. */
  category: AdminCategory | null;
  /** Reads the category as it is now. */
  onFetch: (id: number) => Promise<AdminCategory>;
  onFetched: (category: AdminCategory) => void;
  onDelete: (category: AdminCategory) => Promise<void>;
  /** The api refused or did not know it: it may have said how many videos use it, or that it is gone. */
  onRefused: (category: AdminCategory, refusal: DeleteRefusal) => void;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [check, setCheck] = useState<DeleteCheck>({ kind: "checking" });
  // The one last shown, so the dialog keeps its words while it closes.
  const [shown, setShown] = useState<AdminCategory | null>(category);
  if (category && category !== shown) setShown(category);

  // One read per opening: the latest callbacks, without reading again when their identity changes.
  const latest = useRef({ category, onFetch, onFetched, onRefused });
  latest.current = { category, onFetch, onFetched, onRefused };
  const id = category?.id ?? null;
  useEffect(() => {
    if (id === null) return;
    let current = true;
    setCheck({ kind: "checking" });
    setFailure(null);
    latest.current.onFetch(id).then(
      (fresh) => {
        if (!current) return;
        setCheck(deleteCheckOf({ category: fresh }));
        latest.current.onFetched(fresh);
      },
      (error: unknown) => {
        if (!current) return;
        const read = deleteCheckOf({ error });
        setCheck(read);
        const opened = latest.current.category;
        if (read.kind === "gone" && opened) {
          const refusal = deleteRefusal(error);
          setFailure(refusal.message);
          latest.current.onRefused(opened, refusal);
        }
      },
    );
    return () => {
      current = false;
    };
  }, [id]);

  const close = () => {
    setFailure(null);
    onClose();
  };
  const confirm = async () => {
    if (!category || busy) return;
    setBusy(true);
    setFailure(null);
    try {
      await onDelete(category);
      close();
    } catch (error) {
      const refusal = deleteRefusal(error);
      setFailure(refusal.message);
      setCheck((known) => checkAfterRefusal(known, refusal));
      onRefused(category, refusal);
    } finally {
      setBusy(false);
    }
  };

  const name = shown?.name ?? "";
  return (
    <ConfirmDialog
      open={category !== null}
      title={`Delete the category “${name}”?`}
      confirmLabel="Delete category"
      busyLabel="Deleting…"
      busy={busy}
      failure={failure}
      confirmDisabled={deleteBlocked(check)}
      onConfirm={confirm}
      onClose={close}
    >
      {check.kind === "checking" ? (
        <p>Checking whether videos use it…</p>
      ) : check.kind === "gone" ? (
        <p>Nothing was deleted.</p>
      ) : check.kind === "in_use" ? (
        <p>
          {/* After a refusal the alert below gives the count already. */}
          {failure
            ? "Nothing was deleted."
            : `${videoCountLabel(check.videoCount)} ${check.videoCount === 1 ? "is" : "are"} filed under it.`}{" "}
          A category can be deleted once no video uses it: move those videos to another category on their
          pages, or delete them, first.
        </p>
      ) : (
        <p>It disappears from the upload form and the library's filter. This cannot be undone.</p>
      )}
    </ConfirmDialog>
  );
}
