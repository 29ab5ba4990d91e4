/**
 * Incoming webhooks: a secret URL that posts into one room as the webhook's own bot account.
 * Re-exported by schema.ts. (Outgoing webhooks of bots are another feature's tables.)
 * @module
 */
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./schema-accounts.ts";
import { rooms } from "./schema-rooms.ts";

/**
 * An incoming webhook of a room. Its identity is a `users` row of its own (`user_id`), a bot
 * that owns itself (`bot_owner_id = id`), so its messages are a bot's messages everywhere: in
 * the API, the stream, search and federation (a `Service` actor). Only the SHA-256 of the
 * secret is kept. Revoking keeps the row (and the account, so past messages keep their
 * author) and clears nothing else: a revoked webhook is never found again by its secret.
 */
export const incomingWebhooks = pgTable(
  "incoming_webhooks",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    /** The webhook's own account, whose messages it posts. */
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The moderator who made it; null once their account is gone. */
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    secretHash: text("secret_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("incoming_webhooks_user_idx").on(t.userId), index("incoming_webhooks_room_idx").on(t.roomId)],
);

export type IncomingWebhook = typeof incomingWebhooks.$inferSelect;
