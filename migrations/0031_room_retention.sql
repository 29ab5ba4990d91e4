ALTER TABLE "rooms" ADD COLUMN "retention_days" integer;--> statement-breakpoint
CREATE INDEX "rooms_retention_idx" ON "rooms" USING btree ("id") WHERE "rooms"."retention_days" is not null;--> statement-breakpoint
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_retention_days_range" CHECK ("rooms"."retention_days" is null or "rooms"."retention_days" between 1 and 3650);