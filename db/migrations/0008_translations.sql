-- The extension and the function are written by hand (drizzle-kit tracks neither): `?q=` searches every language's
-- title and description; trigrams of them all let a rare term be found through an index. The function
-- joins the texts with newlines; the catalogue's query still checks each field itself, so a match
-- spanning two fields, or a language no longer supported, is never an answer.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE OR REPLACE FUNCTION catalogue_search_text(title text, description text, translations jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT concat_ws(E'\n', title, description,
    (SELECT string_agg(field.value, E'\n') FROM jsonb_each(translations) AS language, jsonb_each_text(language.value) AS field))
$$;--> statement-breakpoint
ALTER TABLE "categories" ADD COLUMN "translations" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "videos" ADD COLUMN "translations" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
CREATE INDEX "videos_listed_created_idx" ON "videos" USING btree ("created_at","id") WHERE "videos"."published_revision" is not null;--> statement-breakpoint
CREATE INDEX "videos_search_trgm" ON "videos" USING gin (catalogue_search_text("title", "description", "translations") gin_trgm_ops);--> statement-breakpoint
ALTER TABLE "categories" ADD CONSTRAINT "categories_translations_object" CHECK (jsonb_typeof("categories"."translations") = 'object');--> statement-breakpoint
ALTER TABLE "videos" ADD CONSTRAINT "videos_translations_object" CHECK (jsonb_typeof("videos"."translations") = 'object');