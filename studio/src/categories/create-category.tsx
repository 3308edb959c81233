// The form above the list: a name, Create. A taken name (409) or a bad one shows under the field.
import { type FormEvent, useState } from "react";
import type { AdminCategory } from "../api/types.ts";
import { CATEGORY_NAME_LIMIT, categoryNameProblem, nameRefusal } from "./category-rules.ts";

export function CreateCategory({
  onCreate,
  onCreated,
}: {
  onCreate: (name: string) => Promise<AdminCategory>;
  onCreated: (category: AdminCategory) => void;
}) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const local = categoryNameProblem(name);
    if (local) {
      setProblem(local);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      onCreated(await onCreate(name));
      setName("");
    } catch (error) {
      setProblem(nameRefusal(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="create-category" onSubmit={submit} noValidate aria-label="Create a category">
      <div className="field">
        <label htmlFor="new-category-name">New category</label>
        <input
          id="new-category-name"
          className="input"
          value={name}
          maxLength={CATEGORY_NAME_LIMIT + 20}
          placeholder="For example: Documentaries"
          autoComplete="off"
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? "new-category-problem" : undefined}
          onChange={(event) => {
            setName(event.target.value);
            setProblem(null);
          }}
        />
      </div>
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? "Creating…" : "Create category"}
      </button>
      <p className="field-error create-category-problem" id="new-category-problem" aria-live="polite">
        {problem ?? ""}
      </p>
    </form>
  );
}
