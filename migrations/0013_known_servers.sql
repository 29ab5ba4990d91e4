-- What other servers run (issue 15): a public room tells microblogs of a new message with an
-- Announce of the note, which they show, in a second variant of its outbox row.
CREATE TABLE "known_servers" (
	"origin" text PRIMARY KEY NOT NULL,
	"software" text,
	"version" text,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "federation_outbox" ADD COLUMN "variant" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "federation_outbox" DROP CONSTRAINT "federation_outbox_pkey";--> statement-breakpoint
ALTER TABLE "federation_outbox" ADD CONSTRAINT "federation_outbox_position_variant_pk" PRIMARY KEY("position","variant");
