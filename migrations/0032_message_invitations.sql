CREATE TABLE "invitation_responses" (
	"message_id" uuid NOT NULL,
	"actor_id" uuid NOT NULL,
	"answer" text NOT NULL,
	"answered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invitation_responses_message_id_actor_id_pk" PRIMARY KEY("message_id","actor_id")
);
--> statement-breakpoint
CREATE TABLE "invitations" (
	"message_id" uuid PRIMARY KEY NOT NULL,
	"room_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"title" text NOT NULL,
	"link" text,
	"starts_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"invitees" uuid[],
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "invitation_responses" ADD CONSTRAINT "invitation_responses_message_id_invitations_message_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."invitations"("message_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitation_responses" ADD CONSTRAINT "invitation_responses_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invitations_room_idx" ON "invitations" USING btree ("room_id");--> statement-breakpoint
CREATE INDEX "invitations_expires_idx" ON "invitations" USING btree ("expires_at");