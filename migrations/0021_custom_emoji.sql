CREATE TABLE "custom_emoji" (
	"id" uuid PRIMARY KEY NOT NULL,
	"shortcode" text NOT NULL,
	"host" text,
	"file" text,
	"media_type" text,
	"width" integer,
	"height" integer,
	"remote_url" text,
	"file_source" text,
	"failed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "custom_emoji_local_or_remote" CHECK (("custom_emoji"."host" is null and "custom_emoji"."file" is not null) or "custom_emoji"."remote_url" is not null)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "custom_emoji_shortcode_idx" ON "custom_emoji" USING btree (lower("shortcode"),coalesce("host", ''));