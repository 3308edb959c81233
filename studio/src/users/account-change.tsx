// Confirming a change to an account (all but activating): the dialog says what it does; on your own
// account it takes a ticked box too, and only then is `confirm_self` sent. A refusal (the last admin,
// your own account) stays in the dialog in the studio's words.
import { useId, useState } from "react";
import type { AdminUser } from "../api/types.ts";
import { ConfirmDialog } from "../ui/dialog.tsx";
import { type AccountAction, type Confirmation, confirmationFor } from "./user-rules.ts";

export interface PendingChange {
  user: AdminUser;
  action: AccountAction;
  isSelf: boolean;
}

export function AccountChangeDialog({
  pending,
  onConfirm,
  onClose,
}: {
  pending: PendingChange | null;
  /** Sends the change; throws the refusal's sentence as an Error. */
  onConfirm: (change: PendingChange, confirmSelf: boolean) => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [acknowledged, setAcknowledged] = useState(false);
  const checkboxId = useId();
  // The last confirmation shown, so its words stay while the dialog closes.
  const [shown, setShown] = useState<Confirmation | null>(null);
  const confirmation = pending ? confirmationFor(pending.user, pending.action, pending.isSelf) : null;
  if (confirmation && confirmation.title !== shown?.title) setShown(confirmation);

  const close = () => {
    setFailure(null);
    setAcknowledged(false);
    onClose();
  };

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    setFailure(null);
    try {
      await onConfirm(pending, shown?.ownAccount === true && acknowledged);
      close();
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <ConfirmDialog
      open={confirmation !== null}
      title={shown?.title ?? ""}
      confirmLabel={shown?.confirmLabel ?? ""}
      busyLabel={shown?.busyLabel ?? ""}
      tone={shown?.tone ?? "danger"}
      busy={busy}
      failure={failure}
      confirmDisabled={(shown?.ownAccount === true && !acknowledged) || failure !== null}
      onConfirm={confirm}
      onClose={close}
    >
      {shown?.text.map((sentence) => (
        <p key={sentence}>{sentence}</p>
      ))}
      {shown?.ownAccount && (
        <div className="acknowledge">
          <input
            id={checkboxId}
            type="checkbox"
            checked={acknowledged}
            disabled={busy}
            onChange={(event) => setAcknowledged(event.target.checked)}
          />
          <label htmlFor={checkboxId}>I mean to change my own account</label>
        </div>
      )}
    </ConfirmDialog>
  );
}
