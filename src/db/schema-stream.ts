/**
 * The live stream's log and its counter. Re-exported by schema.ts.
 * @module
 */
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Everything the live stream carries that must survive a reconnect, in one log. `position` is
 * handed out by `stream_position` inside the writing transaction, so positions follow commit
 * order and a reader that has seen position P has seen everything before it.
 */
export const events = pgTable(
  "events",
  {
    position: bigint("position", { mode: "number" }).primaryKey(),
    /** The room the event belongs to (members see it), or null for a user's own events. */
    roomId: uuid("room_id"),
    /** For events meant for one actor only (read markers, notifications). */
    actorId: uuid("actor_id"),
    type: text("type").notNull(),
    data: jsonb("data").notNull(),
    /**
     * The remote activity that caused the event, as received: the room's server relays it
     * to the other member servers as it is. Never sent to clients.
     */
    activity: jsonb("activity"),
    /**
     * For an event about an actor that more than one room sees (`profile.updated`): the
     * members of these rooms get it too, and these actors (contacts), besides `actorId`. One
     * row however many see it; the hub and the replay route by these.
     */
    audienceRooms: uuid("audience_rooms").array(),
    audienceActors: uuid("audience_actors").array(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("events_room_idx").on(t.roomId, t.position), index("events_actor_idx").on(t.actorId, t.position)],
);

/** The single counter behind `events.position`. */
export const streamPosition = pgTable("stream_position", {
  id: integer("id").primaryKey(),
  position: bigint("position", { mode: "number" }).notNull(),
});

export type StreamEvent = typeof events.$inferSelect;
