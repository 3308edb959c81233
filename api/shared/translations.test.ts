import { describe, expect, test } from "bun:test";
import type { SupportedLanguages, Translations } from "./localisation.ts";
import {
  applyTranslations,
  checkTranslations,
  presentTranslations,
  type TranslatedField,
} from "./translations.ts";

const SUPPORTED: SupportedLanguages = ["en", "de", "fr"];
const FIELDS: Record<string, TranslatedField> = {
  title: { maxLength: 10, blankMeans: "refused" },
  description: { maxLength: 20, blankMeans: "none" },
};

function check(raw: unknown, supported = SUPPORTED) {
  const errors: Record<string, string[]> = {};
  const patch = checkTranslations(raw, FIELDS, supported, errors);
  return { patch, errors };
}

describe("checkTranslations", () => {
  test("not sent: nothing to do; texts are trimmed, null and a blank description remove", () => {
    expect(check(undefined)).toEqual({ patch: undefined, errors: {} });
    expect(check({ de: { title: " Hase ", description: "  " }, fr: null })).toEqual({
      patch: { de: { title: "Hase", description: null }, fr: null },
      errors: {},
    });
    expect(check({ de: { title: null } }).patch).toEqual({ de: { title: null } });
  });

  test("every problem is reported under the path of the value at fault", () => {
    const { errors } = check({
      es: { title: "Liebre" },
      en: { title: "Hare" },
      de: { title: "   ", titel: "x", description: "d".repeat(21) },
      fr: "Lièvre",
    });
    expect(errors).toEqual({
      "translations.es": ["Unsupported language; one of de, fr."],
      "translations.en": ["en is the default language: its texts are the plain fields (title, description)."],
      "translations.de.title": ["May not be blank (null removes it)."],
      "translations.de.titel": ["Unknown field; one of title, description."],
      "translations.de.description": ["At most 20 characters."],
      "translations.fr": ["Must be an object of title, description, or null to remove the language."],
    });
  });

  test("the shape itself, text that is not text, NUL, and a single-language install", () => {
    for (const raw of [[], "de", 7, null]) {
      expect(check(raw).errors).toEqual({
        translations: ['Must be an object of language → {title, description}, e.g. {"de": {…}}.'],
      });
    }
    expect(check({ de: { title: 5 } }).errors).toEqual({
      "translations.de.title": ["Must be text, or null to remove it."],
    });
    expect(check({ de: { title: "a\0b" } }).errors).toEqual({
      "translations.de.title": ["Must not contain NUL characters."],
    });
    expect(check({ de: { title: "Hase" } }, ["en"]).errors).toEqual({
      "translations.de": ["SUPPORTED_LANGUAGES has only the default language: nothing can be translated."],
    });
    expect(check({ __proto__: { title: "x" } } as never).errors).toEqual({});
    expect(check(JSON.parse('{"__proto__": {"title": "x"}}')).errors).toEqual({
      "translations.__proto__": ["Unsupported language; one of de, fr."],
    });
  });
});

describe("applyTranslations", () => {
  const stored: Translations = { de: { title: "Hase", description: "Ein Hase." }, fr: { title: "Lièvre" } };

  test("a merge patch: fields sent replace theirs, null removes, the rest stays; the input is not changed", () => {
    expect(applyTranslations(stored, { de: { description: "Neu." } })).toEqual({
      de: { title: "Hase", description: "Neu." },
      fr: { title: "Lièvre" },
    });
    expect(applyTranslations(stored, { de: { title: null }, fr: null })).toEqual({
      de: { description: "Ein Hase." },
    });
    expect(applyTranslations<Translations>({}, { de: { title: "Hase", description: null } })).toEqual({
      de: { title: "Hase" },
    });
    expect(stored).toEqual({ de: { title: "Hase", description: "Ein Hase." }, fr: { title: "Lièvre" } });
  });

  test("a language left without fields is dropped", () => {
    expect(applyTranslations(stored, { fr: { title: null } })).toEqual({
      de: { title: "Hase", description: "Ein Hase." },
    });
  });
});

test("presentTranslations shows the supported languages only (the others stay stored)", () => {
  const stored: Translations = { de: { title: "Hase" }, it: { title: "Lepre" } };
  expect(presentTranslations(stored, ["en", "de"])).toEqual({
    de: { title: "Hase" },
  });
});
