CREATE TABLE "presence" (
	"actor_id" uuid NOT NULL,
	"node_id" text NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "presence_actor_id_node_id_pk" PRIMARY KEY("actor_id","node_id")
);
--> statement-breakpoint
ALTER TABLE "presence" ADD CONSTRAINT "presence_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "presence_seen_at_idx" ON "presence" USING btree ("seen_at");