ALTER TABLE "attachments" ALTER COLUMN "hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "attachments" ALTER COLUMN "size" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "outbound_id" uuid;--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "remote_url" text;--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "remote_error" text;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_outbound_id_outbound_messages_id_fk" FOREIGN KEY ("outbound_id") REFERENCES "public"."outbound_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attachments_outbound_idx" ON "attachments" USING btree ("outbound_id");--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_stored_or_remote" CHECK ("attachments"."hash" is not null or "attachments"."remote_url" is not null);