import { describe, expect, test } from "bun:test";
import { ApiError } from "../http/errors.ts";
import {
  acceptedLanguages,
  languagesOf,
  localise,
  parseAcceptLanguage,
  requestedLanguage,
  type SupportedLanguages,
  type Translations,
} from "./localisation.ts";

const SUPPORTED: SupportedLanguages = ["en", "de", "fr"];

describe("parseAcceptLanguage", () => {
  test("best first by q (default 1), ties in header order, region tags as their language", () => {
    expect(parseAcceptLanguage("de-CH;q=0.9, en;q=0.5")).toEqual([
      { language: "de", q: 0.9 },
      { language: "en", q: 0.5 },
    ]);
    expect(parseAcceptLanguage("fr;q=0.5, DE, en-GB;q=0.5, *;q=0.1")).toEqual([
      { language: "de", q: 1 },
      { language: "fr", q: 0.5 },
      { language: "en", q: 0.5 },
      { language: "*", q: 0.1 },
    ]);
  });

  test("a language keeps the highest q of its ranges, at the place of its first", () => {
    expect(parseAcceptLanguage("de;q=0.2, en;q=0.5, de-AT;q=0.8")).toEqual([
      { language: "de", q: 0.8 },
      { language: "en", q: 0.5 },
    ]);
  });

  test("malformed ranges and q-values are skipped; whitespace is allowed around parts", () => {
    expect(parseAcceptLanguage("de;q=2, fr;q=abc, en_US, 12, ; q=1, it ; Q = 0.7")).toEqual([
      { language: "it", q: 0.7 },
    ]);
    expect(parseAcceptLanguage("de;q=0.1234, fr;q=1.000, en;q=0.")).toEqual([
      { language: "fr", q: 1 },
      { language: "en", q: 0 },
    ]);
    expect(parseAcceptLanguage("")).toEqual([]);
    expect(parseAcceptLanguage(null)).toEqual([]);
  });

  test("only the first 32 ranges of a header are looked at", () => {
    const header = [...Array.from({ length: 32 }, () => "xx"), "de"].join(", ");
    expect(parseAcceptLanguage(header)).toEqual([{ language: "xx", q: 1 }]);
  });
});

describe("acceptedLanguages", () => {
  test("the supported languages accepted, best first, ending with the default", () => {
    expect(acceptedLanguages(SUPPORTED, "de-CH;q=0.9, en;q=0.5")).toEqual(["de", "en"]);
    expect(acceptedLanguages(SUPPORTED, "fr, de;q=0.5")).toEqual(["fr", "de", "en"]);
    expect(acceptedLanguages(SUPPORTED, "es, fr;q=0.3")).toEqual(["fr", "en"]);
  });

  test("languages after the default are never needed; unsupported ones and none give the default", () => {
    expect(acceptedLanguages(SUPPORTED, "en, de")).toEqual(["en"]);
    expect(acceptedLanguages(SUPPORTED, "es, pt-BR")).toEqual(["en"]);
    expect(acceptedLanguages(SUPPORTED, undefined)).toEqual(["en"]);
  });

  test("* is the default; q=0 refuses a language, yet the default still ends the list", () => {
    expect(acceptedLanguages(SUPPORTED, "es, *;q=0.5, de;q=0.1")).toEqual(["en"]);
    expect(acceptedLanguages(SUPPORTED, "de;q=0, fr;q=0.5")).toEqual(["fr", "en"]);
    expect(acceptedLanguages(SUPPORTED, "en;q=0, de")).toEqual(["de", "en"]);
  });
});

describe("requestedLanguage and languagesOf", () => {
  test("?lang= names one language (a region tag means its language), then the default", () => {
    expect(requestedLanguage(SUPPORTED, "de")).toEqual(["de", "en"]);
    expect(requestedLanguage(SUPPORTED, "FR-ca")).toEqual(["fr", "en"]);
    expect(requestedLanguage(SUPPORTED, "en")).toEqual(["en"]);
    for (const bad of ["es", "", "*", "de;q=1", "d e"]) expect(requestedLanguage(SUPPORTED, bad)).toBeNull();
  });

  test("?lang= wins over Accept-Language; an unsupported one is a 400 naming lang", () => {
    const request = (query: string) =>
      new Request(`http://api.test/api/video/${query}`, { headers: { "accept-language": "de" } });
    expect(languagesOf(request(""), SUPPORTED)).toEqual(["de", "en"]);
    expect(languagesOf(request("?lang=fr"), SUPPORTED)).toEqual(["fr", "en"]);
    let refusal: unknown;
    try {
      languagesOf(request("?lang=es"), SUPPORTED);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({
      status: 400,
      body: { lang: ["Unsupported language; one of en, de, fr."] },
    });
  });
});

describe("localise", () => {
  const video = {
    id: 7,
    title: "Big Buck Bunny",
    description: "A giant rabbit takes revenge.",
    translations: {
      de: { title: "Großer Hase", description: "Ein riesiges Kaninchen rächt sich." },
      fr: { title: "Grand Lapin", description: "" },
    },
  };

  test("each field from the first language that has it, the entity's own (default) fields last", () => {
    expect(localise(video, ["de", "en"])).toMatchObject({
      id: 7,
      title: "Großer Hase",
      description: "Ein riesiges Kaninchen rächt sich.",
    });
    // French has no description (a blank one counts as none): German is next, before the default.
    expect(localise(video, ["fr", "de", "en"])).toMatchObject({
      title: "Grand Lapin",
      description: "Ein riesiges Kaninchen rächt sich.",
    });
    expect(localise(video, ["fr", "en"])).toMatchObject({
      title: "Grand Lapin",
      description: "A giant rabbit takes revenge.",
    });
    expect(localise(video, ["en"])).toEqual(video);
  });

  test("a translation never adds a field the entity lacks, nor touches one that is not text", () => {
    const category: { id: number; name: string; translations: Translations } = {
      id: 3,
      name: "Animation",
      translations: { de: { name: "Zeichentrick", id: "9" } },
    };
    expect(localise(category, ["de", "en"])).toEqual({ ...category, name: "Zeichentrick" });
  });
});
