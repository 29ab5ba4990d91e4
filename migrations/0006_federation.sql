CREATE TABLE "blocked_servers" (
	"host" text PRIMARY KEY NOT NULL,
	"reason" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "federation_cursor" (
	"id" integer PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"leased_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "outbound_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"room_id" uuid NOT NULL,
	"author_id" uuid NOT NULL,
	"txn_id" text NOT NULL,
	"content" text NOT NULL,
	"html" text NOT NULL,
	"reply_to" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pending_joins" (
	"room_id" uuid NOT NULL,
	"actor_id" uuid NOT NULL,
	"activity_iri" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pending_joins_room_id_actor_id_pk" PRIMARY KEY("room_id","actor_id"),
	CONSTRAINT "pending_joins_activity_iri_unique" UNIQUE("activity_iri")
);
--> statement-breakpoint
CREATE TABLE "room_invitations" (
	"room_id" uuid NOT NULL,
	"actor_id" uuid NOT NULL,
	"invited_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "room_invitations_room_id_actor_id_pk" PRIMARY KEY("room_id","actor_id")
);
--> statement-breakpoint
CREATE TABLE "tombstones" (
	"iri" text PRIMARY KEY NOT NULL,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "handle" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "inbox" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "shared_inbox" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "avatar_url" text;--> statement-breakpoint
ALTER TABLE "actors" ADD COLUMN "fetched_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "activity" jsonb;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "activity" jsonb;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "inbox" text;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "shared_inbox" text;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "outbox" text;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_author_id_actors_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "room_invitations" ADD CONSTRAINT "room_invitations_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "room_invitations" ADD CONSTRAINT "room_invitations_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "room_invitations" ADD CONSTRAINT "room_invitations_invited_by_actors_id_fk" FOREIGN KEY ("invited_by") REFERENCES "public"."actors"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "outbound_messages_txn_idx" ON "outbound_messages" USING btree ("room_id","author_id","txn_id");--> statement-breakpoint
-- The publisher starts after everything already in the log: nothing before federation existed.
INSERT INTO "federation_cursor" ("id", "position") SELECT 1, "position" FROM "stream_position" WHERE "id" = 1 ON CONFLICT DO NOTHING;
