/**
 * Slash commands and outgoing webhooks of bots (src/bots/). Re-exported by schema.ts.
 * `bot_hooks` holds each bot's signing secret as it is (an HMAC needs the secret itself):
 * this table is secret, like the queue's.
 * @module
 */
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { actors, users } from "./schema-accounts.ts";
import { rooms } from "./schema-rooms.ts";

/** One argument of a command, as the bot declared it. */
export interface CommandArgument {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
}

/** A slash command a bot offers in the rooms it is a member of. */
export const botCommands = pgTable(
  "bot_commands",
  {
    botId: uuid("bot_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Lowercase, 1–32 of a-z, 0-9, `_` and `-`, without the slash. */
    name: text("name").notNull(),
    description: text("description").notNull(),
    arguments: jsonb("arguments").$type<CommandArgument[]>().notNull(),
    /** The order the bot gave. */
    position: integer("position").notNull(),
  },
  (t) => [primaryKey({ columns: [t.botId, t.name] })],
);

/**
 * Where a bot is called: its URL, its signing secret, and whether room events are pushed there
 * (instead of its holding a stream).
 */
export const botHooks = pgTable("bot_hooks", {
  botId: uuid("bot_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  url: text("url").notNull(),
  /** `fcs_…`: shown once when set, used to sign every request to `url`. */
  secret: text("secret").notNull(),
  /** The event types pushed to `url` (`message.created`); empty for commands only. */
  events: text("events").array().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A command invoked in a room: what the bot's answer, immediate or later through the API,
 * refers to. Kept until it expires (housekeeping deletes it).
 */
export const commandInteractions = pgTable(
  "command_interactions",
  {
    id: uuid("id").primaryKey(),
    botId: uuid("bot_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    invokerId: uuid("invoker_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    command: text("command").notNull(),
    /** How many answers the bot has given (bounded). */
    replies: integer("replies").notNull().default(0),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("command_interactions_expires_idx").on(t.expiresAt)],
);

/**
 * Events waiting to be pushed to a bot's URL, at most a bounded number per bot (the oldest go
 * first when it is full); a row leaves when delivered or after its last attempt.
 */
export const botHookDeliveries = pgTable(
  "bot_hook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    botId: uuid("bot_id")
      .notNull()
      .references(() => botHooks.botId, { onDelete: "cascade" }),
    /** The JSON body, serialised once. */
    body: text("body").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("bot_hook_deliveries_due_idx").on(t.nextAttemptAt),
    index("bot_hook_deliveries_bot_idx").on(t.botId, t.id),
  ],
);

/** How far the pusher has read the event log (one row, leased by one process at a time). */
export const botHookCursor = pgTable("bot_hook_cursor", {
  id: integer("id").primaryKey(),
  position: bigint("position", { mode: "number" }).notNull(),
  leasedUntil: timestamp("leased_until", { withTimezone: true }),
});
