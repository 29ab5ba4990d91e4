CREATE TABLE "profile_fields" (
	"actor_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"name" text NOT NULL,
	"value" text NOT NULL,
	"verified_at" timestamp with time zone,
	CONSTRAINT "profile_fields_actor_id_position_pk" PRIMARY KEY("actor_id","position"),
	CONSTRAINT "profile_fields_position_range" CHECK ("profile_fields"."position" between 0 and 3)
);
--> statement-breakpoint
ALTER TABLE "profile_fields" ADD CONSTRAINT "profile_fields_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;