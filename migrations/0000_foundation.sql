CREATE TABLE "fedify_kv" (
	"key" text[] PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "fedify_queue" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "fedify_queue_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"message" jsonb NOT NULL,
	"ordering_key" text,
	"deliver_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "server_keys" (
	"purpose" text PRIMARY KEY NOT NULL,
	"private_key" jsonb NOT NULL,
	"public_key" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "fedify_kv_expires_at_idx" ON "fedify_kv" USING btree ("expires_at") WHERE "fedify_kv"."expires_at" is not null;--> statement-breakpoint
CREATE INDEX "fedify_queue_deliver_at_idx" ON "fedify_queue" USING btree ("deliver_at","id");--> statement-breakpoint
CREATE INDEX "fedify_queue_ordering_key_idx" ON "fedify_queue" USING btree ("ordering_key","id") WHERE "fedify_queue"."ordering_key" is not null;