CREATE TABLE "bot_commands" (
	"bot_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"arguments" jsonb NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "bot_commands_bot_id_name_pk" PRIMARY KEY("bot_id","name")
);
--> statement-breakpoint
CREATE TABLE "bot_hook_cursor" (
	"id" integer PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"leased_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "bot_hook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bot_id" uuid NOT NULL,
	"body" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bot_hooks" (
	"bot_id" uuid PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"events" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "command_interactions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"bot_id" uuid NOT NULL,
	"room_id" uuid NOT NULL,
	"invoker_id" uuid NOT NULL,
	"command" text NOT NULL,
	"replies" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "bot_commands" ADD CONSTRAINT "bot_commands_bot_id_users_id_fk" FOREIGN KEY ("bot_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bot_hook_deliveries" ADD CONSTRAINT "bot_hook_deliveries_bot_id_bot_hooks_bot_id_fk" FOREIGN KEY ("bot_id") REFERENCES "public"."bot_hooks"("bot_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bot_hooks" ADD CONSTRAINT "bot_hooks_bot_id_users_id_fk" FOREIGN KEY ("bot_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_interactions" ADD CONSTRAINT "command_interactions_bot_id_users_id_fk" FOREIGN KEY ("bot_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_interactions" ADD CONSTRAINT "command_interactions_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "command_interactions" ADD CONSTRAINT "command_interactions_invoker_id_actors_id_fk" FOREIGN KEY ("invoker_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bot_hook_deliveries_due_idx" ON "bot_hook_deliveries" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "bot_hook_deliveries_bot_idx" ON "bot_hook_deliveries" USING btree ("bot_id","id");--> statement-breakpoint
CREATE INDEX "command_interactions_expires_idx" ON "command_interactions" USING btree ("expires_at");