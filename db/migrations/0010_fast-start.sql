ALTER TABLE "retired_revisions" ADD COLUMN "remove_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "videos" ADD COLUMN "playable_at" timestamp with time zone;--> statement-breakpoint
-- Videos published before fast start became watchable when they became ready.
UPDATE "videos" SET "playable_at" = "ready_at" WHERE "published_prefix" IS NOT NULL;
