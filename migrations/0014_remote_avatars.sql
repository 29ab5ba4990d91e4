-- Remote actors' avatars served from here (issue 15): see src/media/remote-avatars.ts.
ALTER TABLE "actors" ADD COLUMN "avatar_file" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "avatar_file_source" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "avatar_failed_at" timestamp with time zone;