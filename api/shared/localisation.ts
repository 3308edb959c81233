// Which language a request is answered in, and an entity's texts in it. Every route that serves titles,
// descriptions or category names goes through here (the catalogue and continue watching; a dialect's
// adapter the same way): `{ localised: true }` on the route negotiates, `localise(entity, languages)`
// picks the texts.
//
// A client asks with `?lang=` (which wins) or Accept-Language (RFC 9110 §12.5.4, with q-values); a
// region tag falls back to its language (`de-CH` → `de`). The answer is the supported languages it
// accepts, best first, ending with the default: each field is taken from the first of them that has it,
// so a German title without a German description shows the default language's description.
import { Elysia, t } from "elysia";
import { badRequest } from "../http/errors.ts";

/** SUPPORTED_LANGUAGES: the languages texts may be translated into, the default first. */
export type SupportedLanguages = readonly [string, ...string[]];

/** Supported languages a client accepts, best first; the last is always the default language. */
export type LanguagePreference = readonly [string, ...string[]];

/** Per-language texts of an entity, without the default language: only the fields that were translated. */
export type Translations = Readonly<Record<string, Readonly<Record<string, string | undefined>> | undefined>>;

/** The `?lang=` parameter of every localised route (for the schema and the OpenAPI document). */
export const LangQuery = t.Optional(
  t.String({
    maxLength: 35,
    description:
      "Answer in this language (one of SUPPORTED_LANGUAGES; `de-CH` means `de`); wins over Accept-Language",
  }),
);

/** What a localised route's OpenAPI description says about its language. */
export const LOCALISED =
  "Titles, descriptions and category names are in the language of `?lang=`, else the best of Accept-Language (q-values; `de-CH` means `de`) among SUPPORTED_LANGUAGES, field by field falling back to the default language; `Content-Language` names it, and the answer carries `Vary: Accept-Language`.";

// A language range (RFC 4647): `*`, or alphanumeric subtags of 1-8 characters joined by "-".
const LANGUAGE_RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/i;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
/** Ranges of one header looked at: a longer list is a client's bug or an attack, and its tail is ignored. */
const MAX_RANGES = 32;

/**
 * Accept-Language as `{language, q}`, best first (a tie keeps the header's order): `language` is the
 * primary subtag in lower case, or `*`; each language once, at the highest q any of its ranges has.
 * Malformed ranges and q-values are skipped, as if the client had not sent them.
 */
export function parseAcceptLanguage(
  header: string | null | undefined,
): Array<{ language: string; q: number }> {
  if (!header) return [];
  const best = new Map<string, { q: number; order: number }>();
  header.split(",", MAX_RANGES).forEach((range, order) => {
    const [tag = "", ...parameters] = range.split(";").map((part) => part.trim());
    if (!LANGUAGE_RANGE.test(tag)) return;
    let q = 1;
    for (const parameter of parameters) {
      const [name = "", value = ""] = parameter.split("=").map((part) => part.trim());
      if (name.toLowerCase() !== "q") continue;
      if (!QVALUE.test(value)) return;
      q = Number(value);
    }
    const language = tag.split("-")[0]!.toLowerCase();
    const known = best.get(language);
    if (!known || q > known.q) best.set(language, { q, order: known?.order ?? order });
  });
  return [...best]
    .sort(([, a], [, b]) => b.q - a.q || a.order - b.order)
    .map(([language, { q }]) => ({ language, q }));
}

/**
 * The supported languages an Accept-Language header accepts, best first, ending with the default
 * (`supported[0]`). `*` stands for the default; `q=0` refuses a language, but the default still ends
 * the list: every field exists in it, and the answer has to be in some language.
 */
export function acceptedLanguages(
  supported: SupportedLanguages,
  header: string | null | undefined,
): LanguagePreference {
  const fallback = supported[0];
  const chosen: string[] = [];
  for (const { language, q } of parseAcceptLanguage(header)) {
    const match = language === "*" ? fallback : language;
    if (q === 0 || !supported.includes(match) || chosen.includes(match)) continue;
    chosen.push(match);
    // Every field exists in the default language: the ones after it would never show.
    if (match === fallback) break;
  }
  if (chosen.at(-1) !== fallback) chosen.push(fallback);
  return chosen as unknown as LanguagePreference;
}

/** `?lang=de` (or `de-CH`): that language, then the default; null for a malformed or unsupported one. */
export function requestedLanguage(supported: SupportedLanguages, lang: string): LanguagePreference | null {
  const tag = lang.trim();
  if (tag === "*" || !LANGUAGE_RANGE.test(tag)) return null;
  const language = tag.split("-")[0]!.toLowerCase();
  if (!supported.includes(language)) return null;
  return language === supported[0] ? [language] : [language, supported[0]];
}

/** The languages a request asks for: `?lang=` when given (400 naming `lang` when unsupported), else Accept-Language. */
export function languagesOf(request: Request, supported: SupportedLanguages): LanguagePreference {
  const lang = new URL(request.url).searchParams.get("lang");
  if (lang === null) return acceptedLanguages(supported, request.headers.get("accept-language"));
  const requested = requestedLanguage(supported, lang);
  if (!requested) throw badRequest({ lang: [`Unsupported language; one of ${supported.join(", ")}.`] });
  return requested;
}

/**
 * `entity` with its localisable fields (those its translations name: `title`, `description`, `name`) in
 * the first of `languages` that has each, field by field; the entity's own fields are the default
 * language's, and what no translation has keeps them. A blank translation counts as none.
 */
export function localise<T extends { translations: Translations }>(
  entity: T,
  languages: LanguagePreference,
): T {
  const localised: Record<string, unknown> = { ...entity };
  // From the least preferred to the best: each overwrites, so the best language that has a field wins.
  for (let index = languages.length - 1; index >= 0; index--) {
    const texts = entity.translations[languages[index]!];
    if (!texts) continue;
    for (const [field, text] of Object.entries(texts)) {
      if (typeof text === "string" && text !== "" && typeof localised[field] === "string") {
        localised[field] = text;
      }
    }
  }
  return localised as T;
}

/** Adds `name` to a Vary header's list (`*` already covers it). */
function varyWith(current: string | number | undefined, name: string): string {
  const names =
    current === undefined
      ? []
      : String(current)
          .split(",")
          .map((part) => part.trim());
  if (names.includes("*") || names.some((part) => part.toLowerCase() === name.toLowerCase())) {
    return names.join(", ");
  }
  return [...names.filter(Boolean), name].join(", ");
}

/**
 * The plugin of localised routes: `{ localised: true }` gives the handler `languages` and answers with
 * `Content-Language` (the best language the client accepts) and `Vary: Accept-Language`, so a shared
 * cache never hands one language's answer to a client that asked for another.
 */
export const languagePlugin = (supported: SupportedLanguages) =>
  new Elysia({ name: "languages", seed: supported.join(",") })
    .macro({
      localised: {
        resolve: ({ request, set }) => {
          const languages = languagesOf(request, supported);
          set.headers["content-language"] = languages[0];
          set.headers.vary = varyWith(set.headers.vary, "Accept-Language");
          return { languages };
        },
      },
    })
    .as("scoped");
