// Title, description and category (and the other languages' title and description), saved with
// PATCH /api/admin/videos/:id. The api's 400 names the field at fault; the message is shown under it.
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { type ApiClient, ApiRequestError } from "../api/http.ts";
import type { AdminCategory, AdminVideo, TranslatedText } from "../api/types.ts";

const PLACED_FIELDS = new Set(["title", "description", "category"]);

interface Draft {
  title: string;
  description: string;
  category: string;
  translations: Record<string, TranslatedText>;
}

const draftOf = (video: AdminVideo): Draft => ({
  title: video.title,
  description: video.description,
  category: video.category,
  translations: video.translations ?? {},
});

/** field → message from a 400 body (`{title: ["…"]}` or `{detail: "…"}`); "" holds a general one. */
function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiRequestError))
    return { "": error instanceof Error ? error.message : String(error) };
  const body = error.body;
  const errors: Record<string, string> = {};
  if (error.status === 400 && body && typeof body === "object") {
    for (const [field, messages] of Object.entries(body as Record<string, unknown>)) {
      const first = Array.isArray(messages) ? messages[0] : messages;
      if (typeof first === "string" && field !== "detail" && field !== "message") errors[field] = first;
    }
  }
  if (Object.keys(errors).length === 0) errors[""] = error.message;
  return errors;
}

export function MetadataForm({
  api,
  video,
  categories,
  languages: storedLanguages,
  onSaved,
}: {
  api: ApiClient;
  video: AdminVideo;
  categories: AdminCategory[];
  /** The languages the video already has texts in (the api names no list of supported ones). */
  languages: string[];
  onSaved: (video: AdminVideo) => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(video));
  const [saved, setSaved] = useState<Draft>(() => draftOf(video));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const formId = useId();
  const [addedLanguages, setAddedLanguages] = useState<string[]>([]);
  const [newLanguage, setNewLanguage] = useState("");
  const languages = [...new Set([...storedLanguages, ...addedLanguages])];
  const addLanguage = () => {
    const code = newLanguage.trim().toLowerCase();
    if (!code) return;
    setAddedLanguages((current) => (current.includes(code) ? current : [...current, code]));
    setNewLanguage("");
  };

  // An edit made elsewhere (another tab, the api) shows up unless this form has unsaved changes.
  const incomingKey = JSON.stringify(draftOf(video));
  const lastIncoming = useRef(incomingKey);
  useEffect(() => {
    const previous = lastIncoming.current;
    lastIncoming.current = incomingKey;
    const next = JSON.parse(incomingKey) as Draft;
    setSaved(next);
    setDraft((current) => (JSON.stringify(current) === previous ? next : current));
  }, [incomingKey]);

  const dirty = JSON.stringify(draft) !== JSON.stringify(saved);
  const set = (patch: Partial<Draft>) => {
    setDraft((current) => ({ ...current, ...patch }));
    setNotice(null);
  };
  const setTranslation = (language: string, field: keyof TranslatedText, value: string) =>
    set({
      translations: {
        ...draft.translations,
        [language]: { ...draft.translations[language], [field]: value },
      },
    });

  const discard = () => {
    setDraft(saved);
    setAddedLanguages([]);
    setErrors({});
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setErrors({});
    setNotice(null);
    try {
      // Empty translated fields are removed (null in the merge patch): they fall back to the default's.
      const translations: Record<string, Record<string, string | null>> = {};
      for (const language of languages) {
        const text = draft.translations[language] ?? {};
        translations[language] = {
          title: text.title?.trim() ? text.title : null,
          description: text.description?.trim() ? text.description : null,
        };
      }
      const body: Record<string, unknown> = {
        title: draft.title,
        description: draft.description,
        category: draft.category,
      };
      if (languages.length > 0) body.translations = translations;
      const updated = await api.patch<AdminVideo>(`/api/admin/videos/${video.id}`, body);
      const next = draftOf(updated);
      setSaved(next);
      setDraft(next);
      onSaved(updated);
      setNotice("Saved. The library and the catalogue show the new details.");
    } catch (error) {
      setErrors(fieldErrors(error));
    } finally {
      setSaving(false);
    }
  };

  const errorOf = (field: string) =>
    errors[field] ? (
      <p className="field-error" id={`${formId}-${field}-error`}>
        {errors[field]}
      </p>
    ) : null;
  /** Messages no field above shows (a general one, or `translations.fr`). */
  const unplaced = Object.entries(errors).filter(([field]) => !PLACED_FIELDS.has(field));
  const described = (field: string) => (errors[field] ? `${formId}-${field}-error` : undefined);

  return (
    <section className="panel" aria-labelledby={`${formId}-title`}>
      <h2 className="panel-title" id={`${formId}-title`}>
        Details
      </h2>
      <form className="details-form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${formId}-name`}>Title</label>
          <input
            id={`${formId}-name`}
            className="input"
            value={draft.title}
            maxLength={200}
            aria-invalid={errors.title ? true : undefined}
            aria-describedby={described("title")}
            onChange={(event) => set({ title: event.target.value })}
          />
          {errorOf("title")}
        </div>
        <div className="field">
          <label htmlFor={`${formId}-description`}>Description</label>
          <textarea
            id={`${formId}-description`}
            className="input textarea"
            rows={4}
            value={draft.description}
            maxLength={5000}
            aria-invalid={errors.description ? true : undefined}
            aria-describedby={described("description")}
            onChange={(event) => set({ description: event.target.value })}
          />
          {errorOf("description")}
        </div>
        <div className="field">
          <label htmlFor={`${formId}-category`}>Category</label>
          <input
            id={`${formId}-category`}
            className="input"
            list={`${formId}-categories`}
            value={draft.category}
            maxLength={100}
            aria-invalid={errors.category ? true : undefined}
            aria-describedby={described("category") ?? `${formId}-category-hint`}
            onChange={(event) => set({ category: event.target.value })}
          />
          <datalist id={`${formId}-categories`}>
            {categories.map((category) => (
              <option key={category.id} value={category.name} />
            ))}
          </datalist>
          {errorOf("category") ?? (
            <p className="field-hint" id={`${formId}-category-hint`}>
              A new name creates the category.
            </p>
          )}
        </div>
        {languages.map((language) => (
          <fieldset key={language} className="translation">
            <legend>
              {language.toUpperCase()} <span className="muted">(empty fields fall back to the default)</span>
            </legend>
            <div className="field">
              <label htmlFor={`${formId}-${language}-title`}>Title ({language})</label>
              <input
                id={`${formId}-${language}-title`}
                className="input"
                value={draft.translations[language]?.title ?? ""}
                maxLength={200}
                onChange={(event) => setTranslation(language, "title", event.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${formId}-${language}-description`}>Description ({language})</label>
              <textarea
                id={`${formId}-${language}-description`}
                className="input textarea"
                rows={2}
                value={draft.translations[language]?.description ?? ""}
                maxLength={5000}
                onChange={(event) => setTranslation(language, "description", event.target.value)}
              />
            </div>
          </fieldset>
        ))}
        <div className="add-language">
          <div className="field">
            <label htmlFor={`${formId}-new-language`}>Add a translation</label>
            <input
              id={`${formId}-new-language`}
              className="input"
              value={newLanguage}
              placeholder="Language code, e.g. de"
              maxLength={3}
              onChange={(event) => setNewLanguage(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter") {
                  event.preventDefault();
                  addLanguage();
                }
              }}
            />
          </div>
          <button type="button" className="button" onClick={addLanguage} disabled={!newLanguage.trim()}>
            Add
          </button>
        </div>
        {unplaced.length > 0 && (
          <p className="form-error" role="alert">
            {unplaced.map(([field, message]) => (field ? `${field}: ${message}` : message)).join(" ")}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={saving || !dirty}>
            {saving ? "Saving…" : "Save changes"}
          </button>
          {dirty && !saving && (
            <button type="button" className="button button-quiet" onClick={discard}>
              Discard
            </button>
          )}
          <p className="form-notice" role="status">
            {notice ?? (dirty ? "Unsaved changes" : "")}
          </p>
        </div>
      </form>
    </section>
  );
}
