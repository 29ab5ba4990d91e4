ALTER TABLE "events" ADD COLUMN "audience_rooms" uuid[];--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "audience_actors" uuid[];