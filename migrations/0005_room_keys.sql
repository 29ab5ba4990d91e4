CREATE TABLE "room_keys" (
	"room_id" uuid PRIMARY KEY NOT NULL,
	"rsa_private_key" jsonb NOT NULL,
	"rsa_public_key" jsonb NOT NULL,
	"ed25519_private_key" jsonb NOT NULL,
	"ed25519_public_key" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "room_keys" ADD CONSTRAINT "room_keys_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;