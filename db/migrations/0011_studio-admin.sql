CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TYPE "public"."transcode_attempt_outcome" AS ENUM('ready', 'error', 'failed', 'interrupted');--> statement-breakpoint
CREATE TABLE "transcode_attempts" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "transcode_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"video_id" integer NOT NULL,
	"revision" integer NOT NULL,
	"attempt" integer NOT NULL,
	"worker" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" "transcode_attempt_outcome",
	"error" text
);
--> statement-breakpoint
ALTER TABLE "transcode_attempts" ADD CONSTRAINT "transcode_attempts_video_id_videos_id_fk" FOREIGN KEY ("video_id") REFERENCES "public"."videos"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "transcode_attempts_unique" ON "transcode_attempts" USING btree ("video_id","revision","attempt","worker");--> statement-breakpoint
CREATE INDEX "transcode_attempts_finished_idx" ON "transcode_attempts" USING btree ("finished_at");--> statement-breakpoint
CREATE INDEX "users_email_trgm" ON "users" USING gin (lower("email") gin_trgm_ops);