// One category: its name (or, while renaming, a field with Save and Cancel in its place), how many
// videos are filed under it, when it was made, and Rename and Delete. A table row, a card on a phone.
import { type FormEvent, useEffect, useRef, useState } from "react";
import type { AdminCategory } from "../api/types.ts";
import { formatDate } from "../ui/format.ts";
import { CATEGORY_NAME_LIMIT, categoryNameProblem, nameRefusal, videoCountLabel } from "./category-rules.ts";

function RenameForm({
  category,
  onRename,
  onDone,
}: {
  category: AdminCategory;
  onRename: (name: string) => Promise<unknown>;
  onDone: () => void;
}) {
  const [name, setName] = useState(category.name);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const fieldId = `rename-category-${category.id}`;

  useEffect(() => {
    inputRef.current?.focus();
    inputRef.current?.select();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const local = categoryNameProblem(name);
    if (local) {
      setProblem(local);
      return;
    }
    if (name.trim() === category.name) {
      onDone();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await onRename(name);
      onDone();
    } catch (error) {
      setProblem(nameRefusal(error));
      setBusy(false);
    }
  };

  return (
    <form
      className="rename-form"
      onSubmit={submit}
      noValidate
      onKeyDown={(event) => {
        if (event.key === "Escape" && !busy) onDone();
      }}
    >
      <label className="visually-hidden" htmlFor={fieldId}>
        New name for {category.name}
      </label>
      <input
        ref={inputRef}
        id={fieldId}
        className="input"
        value={name}
        maxLength={CATEGORY_NAME_LIMIT + 20}
        autoComplete="off"
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${fieldId}-problem` : undefined}
        onChange={(event) => {
          setName(event.target.value);
          setProblem(null);
        }}
      />
      <div className="rename-actions">
        <button type="submit" className="button button-primary button-small" disabled={busy}>
          {busy ? "Saving…" : "Save"}
        </button>
        <button type="button" className="button button-small" onClick={onDone} disabled={busy}>
          Cancel
        </button>
      </div>
      {problem && (
        <p className="field-error" id={`${fieldId}-problem`} role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

export function CategoryRow({
  category,
  onRename,
  onDelete,
}: {
  category: AdminCategory;
  onRename: (name: string) => Promise<unknown>;
  onDelete: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const renameButton = useRef<HTMLButtonElement>(null);
  const wasRenaming = useRef(false);

  // Back on the Rename button after a rename or Cancel, where the keyboard left off.
  useEffect(() => {
    if (wasRenaming.current && !renaming) renameButton.current?.focus();
    wasRenaming.current = renaming;
  }, [renaming]);

  return (
    <tr className="category-row" data-category-id={category.id}>
      <th scope="row" className="cell-name">
        {renaming ? (
          <RenameForm category={category} onRename={onRename} onDone={() => setRenaming(false)} />
        ) : (
          <span className="category-name">{category.name}</span>
        )}
      </th>
      <td className="cell-count" data-label="Videos">
        {category.video_count > 0 ? (
          <a
            href={`/studio/?category=${category.id}`}
            aria-label={`${videoCountLabel(category.video_count)} in ${category.name}`}
          >
            {videoCountLabel(category.video_count)}
          </a>
        ) : (
          <span className="muted">{videoCountLabel(0)}</span>
        )}
      </td>
      <td className="cell-made" data-label="Created">
        <time dateTime={category.created_at}>{formatDate(category.created_at)}</time>
      </td>
      <td className="cell-actions">
        {!renaming && (
          <div className="row-actions">
            <button
              ref={renameButton}
              type="button"
              className="button button-small"
              onClick={() => setRenaming(true)}
              aria-label={`Rename ${category.name}`}
            >
              Rename
            </button>
            <button
              type="button"
              className="button button-small button-danger-quiet"
              onClick={onDelete}
              aria-label={`Delete ${category.name}`}
            >
              Delete
            </button>
          </div>
        )}
      </td>
    </tr>
  );
}
