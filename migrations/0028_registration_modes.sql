CREATE TABLE "instance_settings" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"registrations" text DEFAULT 'open' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instance_settings_one_row" CHECK ("instance_settings"."id" = 1),
	CONSTRAINT "instance_settings_registrations_known" CHECK ("instance_settings"."registrations" in ('open', 'approval', 'closed'))
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "awaiting_approval_since" timestamp with time zone;