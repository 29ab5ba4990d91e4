CREATE TABLE "access_rules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"cidr" text NOT NULL,
	"action" text NOT NULL,
	"scope" text NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "access_rules_rule_idx" ON "access_rules" USING btree ("scope","action","cidr");