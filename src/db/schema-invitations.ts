/**
 * Invitations to a game, a call or an event: a message with an invitation attached, and who
 * answered it. Re-exported by schema.ts.
 * @module
 */
import { index, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { actors } from "./schema-accounts.ts";
import { rooms } from "./schema-rooms.ts";

/**
 * The invitation a message carries. Keyed by the message's id but without a foreign key: the
 * row is written just before the batched send writes the message (so the message's first
 * event already shows the card, and the federation layer finds it when it makes the `Note`),
 * and a send that turns out a retry or fails deletes it again. For a send to a room on another
 * server it is keyed by the outbound message's id, which the message takes when it comes back.
 */
export const invitations = pgTable(
  "invitations",
  {
    messageId: uuid("message_id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    /** What the invitation is to. */
    kind: text("kind", { enum: ["game", "call", "event"] }).notNull(),
    title: text("title").notNull(),
    /** Where to play, call or read about it: an http(s) address. */
    link: text("link"),
    /** When the game, call or event starts, if it says. */
    startsAt: timestamp("starts_at", { withTimezone: true }),
    /** After this, answers are refused and the card shows "expired" (computed on read). */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** The invited actors; null: every member of the room. */
    invitees: uuid("invitees").array(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("invitations_room_idx").on(t.roomId), index("invitations_expires_idx").on(t.expiresAt)],
);

/** One answer per invitee: a second answer replaces the first while the invitation is open. */
export const invitationResponses = pgTable(
  "invitation_responses",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => invitations.messageId, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    answer: text("answer", { enum: ["accepted", "declined"] }).notNull(),
    answeredAt: timestamp("answered_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.actorId] })],
);

export type Invitation = typeof invitations.$inferSelect;
export type InvitationResponse = typeof invitationResponses.$inferSelect;
