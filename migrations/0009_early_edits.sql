CREATE TABLE "early_edits" (
	"iri" text PRIMARY KEY NOT NULL,
	"author_id" uuid NOT NULL,
	"content" text NOT NULL,
	"html" text NOT NULL,
	"mentioned" uuid[] NOT NULL,
	"updated" timestamp with time zone,
	"activity" jsonb,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "early_edits" ADD CONSTRAINT "early_edits_author_id_actors_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "early_edits_received_idx" ON "early_edits" USING btree ("received_at");