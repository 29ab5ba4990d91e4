ALTER TABLE "rooms" ADD COLUMN "name_chosen" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- Rooms from before this column: a name that is not usernames joined by ", " was chosen (the
-- old rule); one that looks like usernames cannot be told apart and stays generated.
UPDATE "rooms" SET "name_chosen" = true WHERE "direct" AND "name" <> '' AND "name" !~ '^[a-z0-9_]+(, [a-z0-9_]+)*$';
