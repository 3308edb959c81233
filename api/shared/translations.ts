// The admin side of translations: checking what an admin sends for a video's or a category's
// `translations`, and applying it to what is stored. Serving them is localisation.ts.
//
// `translations` is `{ <language>: { <field>: text } }` for the supported languages other than the
// default (whose texts are the entity's plain fields). A write is a merge patch (RFC 7396): the fields
// sent replace theirs, `null` removes a field (it then falls back to the default language), and a
// language sent as `null` loses all its fields; what is not sent stays.
import { badRequest } from "../http/errors.ts";
import type { SupportedLanguages, Translations } from "./localisation.ts";

export interface TranslatedField {
  maxLength: number;
  /** Whether a blank text is refused (a title, a name) or means "no translation" (a description). */
  blankMeans: "refused" | "none";
}

/** What an admin sent, checked: per language, the fields to set (text) or remove (null); null removes the language. */
export type TranslationsPatch = Record<string, Record<string, string | null> | null>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const notAnObject = (fields: Readonly<Record<string, TranslatedField>>) =>
  `Must be an object of language → {${Object.keys(fields).join(", ")}}, e.g. {"de": {…}}.`;

/**
 * For a JSON route's `transform`, before Elysia normalises the body to its schema: that would turn a
 * string `translations` into an object of its characters (`{"0": "d", "1": "e"}`), and the 400 would
 * name languages the client never sent.
 */
export function refuseTranslationsNotAnObject(
  body: unknown,
  fields: Readonly<Record<string, TranslatedField>>,
): void {
  if (!isObject(body) || body.translations === undefined || isObject(body.translations)) return;
  throw badRequest({ translations: [notAnObject(fields)] });
}

/**
 * Checks `raw` (undefined: not sent) against the translatable `fields` and the supported languages.
 * Problems go into `errors` under the path of the value at fault (`translations.fr`,
 * `translations.de.title`), so a client can tell which language and field to fix.
 */
export function checkTranslations(
  raw: unknown,
  fields: Readonly<Record<string, TranslatedField>>,
  supported: SupportedLanguages,
  errors: Record<string, string[]>,
): TranslationsPatch | undefined {
  if (raw === undefined) return undefined;
  const fieldNames = Object.keys(fields).join(", ");
  if (!isObject(raw)) {
    errors.translations = [notAnObject(fields)];
    return undefined;
  }
  const [fallback, ...translatable] = supported;
  const patch: TranslationsPatch = {};
  for (const [language, texts] of Object.entries(raw)) {
    const path = `translations.${language}`;
    if (language === fallback) {
      errors[path] = [`${fallback} is the default language: its texts are the plain fields (${fieldNames}).`];
      continue;
    }
    if (!translatable.includes(language)) {
      errors[path] = [
        translatable.length > 0
          ? `Unsupported language; one of ${translatable.join(", ")}.`
          : "SUPPORTED_LANGUAGES has only the default language: nothing can be translated.",
      ];
      continue;
    }
    if (texts === null) {
      patch[language] = null;
      continue;
    }
    if (!isObject(texts)) {
      errors[path] = [`Must be an object of ${fieldNames}, or null to remove the language.`];
      continue;
    }
    const changes: Record<string, string | null> = {};
    for (const [field, text] of Object.entries(texts)) {
      const rule = Object.hasOwn(fields, field) ? fields[field] : undefined;
      const problem = rule ? checkText(text, rule) : `Unknown field; one of ${fieldNames}.`;
      if (problem) errors[`${path}.${field}`] = [problem];
      else changes[field] = typeof text === "string" && text.trim() !== "" ? text.trim() : null;
    }
    patch[language] = changes;
  }
  return patch;
}

function checkText(text: unknown, rule: TranslatedField): string | null {
  if (text === null) return null;
  if (typeof text !== "string") return "Must be text, or null to remove it.";
  const value = text.trim();
  // PostgreSQL cannot store NUL in jsonb: refused here rather than failing the write.
  if (value.includes("\0")) return "Must not contain NUL characters.";
  if (value === "" && rule.blankMeans === "refused") return "May not be blank (null removes it).";
  if (value.length > rule.maxLength) return `At most ${rule.maxLength} characters.`;
  return null;
}

/** `stored` with `patch` applied; a language left without fields is dropped. */
export function applyTranslations<T extends Translations>(stored: T, patch: TranslationsPatch): T {
  const next: Record<string, Record<string, string | undefined>> = { ...stored } as never;
  for (const [language, changes] of Object.entries(patch)) {
    if (changes === null) {
      delete next[language];
      continue;
    }
    const texts: Record<string, string | undefined> = { ...next[language] };
    for (const [field, text] of Object.entries(changes)) {
      if (text === null) delete texts[field];
      else texts[field] = text;
    }
    if (Object.keys(texts).length > 0) next[language] = texts;
    else delete next[language];
  }
  return next as T;
}

/** What admins see: the stored translations of the supported languages (others stay stored, unshown). */
export function presentTranslations<T extends Translations>(stored: T, supported: SupportedLanguages): T {
  return Object.fromEntries(
    Object.entries(stored).filter(([language]) => language !== supported[0] && supported.includes(language)),
  ) as T;
}
