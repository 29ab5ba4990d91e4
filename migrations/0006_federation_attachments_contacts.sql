CREATE TABLE "attachments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"owner_id" uuid NOT NULL,
	"message_id" uuid,
	"hash" text NOT NULL,
	"name" text NOT NULL,
	"media_type" text NOT NULL,
	"size" bigint NOT NULL,
	"width" integer,
	"height" integer,
	"preview" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blocked_servers" (
	"host" text PRIMARY KEY NOT NULL,
	"reason" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contact_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"from_id" uuid NOT NULL,
	"to_id" uuid NOT NULL,
	"iri" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_requests_iri_unique" UNIQUE("iri")
);
--> statement-breakpoint
CREATE TABLE "contacts" (
	"owner_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contacts_owner_id_contact_id_pk" PRIMARY KEY("owner_id","contact_id")
);
--> statement-breakpoint
CREATE TABLE "federation_cursor" (
	"id" integer PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"leased_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"actor_id" uuid NOT NULL,
	"type" text NOT NULL,
	"from_id" uuid,
	"room_id" uuid,
	"message_id" uuid,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"read_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
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
ALTER TABLE "invites" ADD COLUMN "invitee_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "activity" jsonb;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "notification_level" text;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "muted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "inbox" text;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "shared_inbox" text;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "outbox" text;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_owner_id_actors_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_requests" ADD CONSTRAINT "contact_requests_from_id_actors_id_fk" FOREIGN KEY ("from_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_requests" ADD CONSTRAINT "contact_requests_to_id_actors_id_fk" FOREIGN KEY ("to_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_owner_id_actors_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_contact_id_actors_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_from_id_actors_id_fk" FOREIGN KEY ("from_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_author_id_actors_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attachments_owner_idx" ON "attachments" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "attachments_message_idx" ON "attachments" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "attachments_hash_idx" ON "attachments" USING btree ("hash");--> statement-breakpoint
CREATE UNIQUE INDEX "contact_requests_pair_idx" ON "contact_requests" USING btree ("from_id","to_id");--> statement-breakpoint
CREATE INDEX "contact_requests_to_idx" ON "contact_requests" USING btree ("to_id");--> statement-breakpoint
CREATE INDEX "notifications_actor_idx" ON "notifications" USING btree ("actor_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_message_idx" ON "notifications" USING btree ("actor_id","message_id");--> statement-breakpoint
CREATE UNIQUE INDEX "outbound_messages_txn_idx" ON "outbound_messages" USING btree ("room_id","author_id","txn_id");--> statement-breakpoint
ALTER TABLE "invites" ADD CONSTRAINT "invites_invitee_id_actors_id_fk" FOREIGN KEY ("invitee_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- The publisher starts after everything already in the log: nothing before federation existed.
INSERT INTO "federation_cursor" ("id", "position") SELECT 1, "position" FROM "stream_position" WHERE "id" = 1 ON CONFLICT DO NOTHING;
