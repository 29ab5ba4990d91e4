CREATE TABLE "delivery_streams" (
	"inbox" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"queued" bigint NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_by" text,
	"leased_until" timestamp with time zone,
	"signature_spec" text,
	"last_error" text,
	"last_success_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "federation_outbox" (
	"position" bigint PRIMARY KEY NOT NULL,
	"room_id" uuid NOT NULL,
	"reorderable" boolean DEFAULT false NOT NULL,
	"body" text NOT NULL,
	"inboxes" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "delivery_streams_due_idx" ON "delivery_streams" USING btree ("next_attempt_at") WHERE "delivery_streams"."queued" > "delivery_streams"."position";--> statement-breakpoint
CREATE INDEX "federation_outbox_inboxes_idx" ON "federation_outbox" USING gin ("inboxes");--> statement-breakpoint
CREATE INDEX "federation_outbox_created_idx" ON "federation_outbox" USING btree ("created_at");