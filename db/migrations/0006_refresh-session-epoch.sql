ALTER TABLE "refresh_tokens" ADD COLUMN "session_epoch" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Sessions that exist already belong to the user's current epoch (older ones were revoked when it was raised).
UPDATE "refresh_tokens" SET "session_epoch" = "users"."session_epoch" FROM "users" WHERE "users"."id" = "refresh_tokens"."user_id";
