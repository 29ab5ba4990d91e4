-- Written by hand: the words of a message for search (src/search), a stored generated column
-- that drizzle's schema leaves out on purpose (see `messages` in src/db/schema.ts), so that
-- queries reading whole messages never carry it. Adding it rewrites the messages table: on a
-- large database this migration takes a while and holds sends meanwhile.
ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, "content")) STORED;--> statement-breakpoint
CREATE INDEX "messages_search_idx" ON "messages" USING gin ("search");
