// Deleting a category, behind a confirmation that names it. While videos are known to use it the
// dialog says so and offers no Delete; when the count shown was stale the api's refusal (409 in_use)
// is shown in the dialog with its reason, and the list learns the real count.
import { useState } from "react";
import type { AdminCategory } from "../api/types.ts";
import { ConfirmDialog } from "../ui/dialog.tsx";
import { type DeleteRefusal, deleteRefusal, videoCountLabel } from "./category-rules.ts";

export function DeleteCategory({
  category,
  onDelete,
  onRefused,
  onClose,
}: {
  /** The category to delete; null: the dialog is closed. */
  category: AdminCategory | null;
  onDelete: (category: AdminCategory) => Promise<void>;
  /** The api refused: it may have said how many videos use it, or that it is gone. */
  onRefused: (category: AdminCategory, refusal: DeleteRefusal) => void;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  // The one last shown, so the dialog keeps its words while it closes.
  const [shown, setShown] = useState<AdminCategory | null>(category);
  if (category && category !== shown) setShown(category);

  const close = () => {
    setFailure(null);
    onClose();
  };
  const inUse = (shown?.video_count ?? 0) > 0;
  const confirm = async () => {
    if (!category) return;
    setBusy(true);
    setFailure(null);
    try {
      await onDelete(category);
      close();
    } catch (error) {
      const refusal = deleteRefusal(error);
      setFailure(refusal.message);
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
      confirmDisabled={inUse || failure !== null}
      onConfirm={confirm}
      onClose={close}
    >
      {failure ? (
        <p>Nothing was deleted.</p>
      ) : inUse ? (
        <p>
          {videoCountLabel(shown?.video_count ?? 0)} {shown?.video_count === 1 ? "is" : "are"} filed under it.
          A category can be deleted once no video uses it: move those videos to another category on their
          pages, or delete them, first.
        </p>
      ) : (
        <p>It disappears from the upload form and the library's filter. This cannot be undone.</p>
      )}
    </ConfirmDialog>
  );
}
