ALTER TABLE "tombstones" ADD COLUMN "room_id" uuid;--> statement-breakpoint
ALTER TABLE "tombstones" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "tombstones" ADD CONSTRAINT "tombstones_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tombstones_room_idx" ON "tombstones" USING btree ("room_id","seq");