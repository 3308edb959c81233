import { t } from "elysia";
import { IdParams } from "../http/params.ts";

/** Stored translations as admins see them; writes are checked by the service (400 naming the field). */
const translations = t.Record(
  t.String(),
  t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 100 })) }),
  {
    description:
      "The name in the other supported languages, by language code; a language left out shows the default `name`",
    examples: [{ de: { name: "Zeichentrick" } }],
  },
);

const translationsPatch = t.Record(t.String(), t.Unknown(), {
  description:
    'A merge patch of `translations`: `{"de": {"name": "…"}}` sets the German name, `{"de": null}` (or `{"de": {"name": null}}`) removes it. Languages: SUPPORTED_LANGUAGES but the first (whose name is `name`); unknown ones get 400 naming `translations.<language>`.',
  examples: [{ de: { name: "Zeichentrick" } }],
});

const name = t.String({
  minLength: 1,
  maxLength: 100,
  description: "In the default language; unique in any letter case",
});

export const CategoryModel = {
  adminCategory: t.Object(
    {
      id: t.Integer(),
      name: t.String(),
      translations,
      video_count: t.Integer({ description: "Videos filed under it, in any state" }),
      created_at: t.String({ format: "date-time" }),
    },
    {
      examples: [
        {
          id: 3,
          name: "Animation",
          translations: { de: { name: "Zeichentrick" } },
          video_count: 12,
          created_at: "2026-11-24T08:00:00.000Z",
        },
      ],
    },
  ),
  createBody: t.Object(
    { name, translations: t.Optional(translationsPatch) },
    { additionalProperties: false },
  ),
  patchBody: t.Object(
    { name: t.Optional(name), translations: t.Optional(translationsPatch) },
    { additionalProperties: false },
  ),
  idParams: IdParams,
} as const;

export type AdminCategory = typeof CategoryModel.adminCategory.static;
