import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** An actor's two key pairs as JWK columns: RSA (HTTP signatures) and Ed25519 (proofs). */
export function actorKeyColumns() {
  return {
    rsaPrivateKey: jsonb("rsa_private_key").$type<JsonWebKey>().notNull(),
    rsaPublicKey: jsonb("rsa_public_key").$type<JsonWebKey>().notNull(),
    ed25519PrivateKey: jsonb("ed25519_private_key").$type<JsonWebKey>().notNull(),
    ed25519PublicKey: jsonb("ed25519_public_key").$type<JsonWebKey>().notNull(),
  };
}

/**
 * Local accounts. `username` is stored lowercase (handles are case-insensitive) and is unique;
 * the key pairs (JWK) are made at registration and sign the user's `Person` activities.
 * A bot is a row here too, with `bot_owner_id` set (the user who made it, whose deletion
 * deletes it) and no password: it acts only through personal access tokens (schema-tokens.ts),
 * and federates as a `Service`.
 */
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    username: text("username").notNull(),
    displayName: text("display_name").notNull(),
    bio: text("bio").notNull().default(""),
    color: text("color"),
    /** File name of the avatar under DATA_DIR/media/avatars, server-generated. */
    avatar: text("avatar"),
    /** Null for a bot: it cannot log in. */
    passwordHash: text("password_hash"),
    /** The user who owns this bot; null for a person. */
    botOwnerId: uuid("bot_owner_id").references((): AnyPgColumn => users.id, { onDelete: "cascade" }),
    /** Whether the user sees link preview cards, and whether their own messages get any. */
    linkPreviews: boolean("link_previews").notNull().default(true),
    ...actorKeyColumns(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    suspendedAt: timestamp("suspended_at", { withTimezone: true }),
    /**
     * Set while a sign-up waits for an admin's approval (registrations by approval): such an
     * account is found nowhere and cannot log in until approved.
     */
    awaitingApprovalSince: timestamp("awaiting_approval_since", { withTimezone: true }),
    /**
     * When the user deleted their account. The row stays as a tombstone (Mastodon's way): its
     * username is never given again, its keys sign the `Delete` of the `Person`, and the actor
     * answers 410 Gone; the profile is emptied and the password removed.
     */
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    /** `admin` runs the instance (server emoji and sticker packs, ...); set from the command line. */
    role: text("role", { enum: ["user", "admin"] })
      .notNull()
      .default("user"),
  },
  (t) => [
    uniqueIndex("users_username_idx").on(t.username),
    index("users_bot_owner_idx").on(t.botOwnerId),
    check("users_role_known", sql`${t.role} in ('user', 'admin')`),
  ],
);

/**
 * A login on one device: the family of refresh tokens issued since. Revoking the session
 * stops its refresh tokens, and its access tokens (requests check the row, through the
 * authentication cache: at once in the revoking process, within a second in the others).
 */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deviceLabel: text("device_label").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }).notNull().defaultNow(),
    lastAddress: text("last_address"),
    /** When the newest refresh token runs out; the session ends then unless refreshed. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokeReason: text("revoke_reason"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId), index("sessions_expires_at_idx").on(t.expiresAt)],
);

/**
 * Refresh tokens, stored as SHA-256 hashes only. A token is used once: using it marks it and
 * issues the next; presenting a used one again revokes the whole session (reuse detection).
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
  },
  (t) => [index("refresh_tokens_session_id_idx").on(t.sessionId)],
);

/** Fixed-window counters for rate limits, shared by every process on the database. */
export const rateLimits = pgTable(
  "rate_limits",
  {
    key: text("key").primaryKey(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    hits: integer("hits").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("rate_limits_expires_at_idx").on(t.expiresAt)],
);

/**
 * Everyone who can be in a room: a local user (`user_id` set, `id` equal to the user's id) or,
 * from the federation issue on, a remote `Person` (`iri` set). Rooms, messages and reactions
 * refer to actors, never to users, so remote members fit in without special cases.
 */
export const actors = pgTable("actors", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id")
    .unique()
    .references(() => users.id, { onDelete: "cascade" }),
  /** The remote actor's IRI; null for local users. */
  iri: text("iri").unique(),
  /** A remote actor's `name@host` (lowercase), from WebFinger or its `preferredUsername`. */
  handle: text("handle"),
  /** A remote actor's display name, inbox, shared inbox and avatar, as last fetched. */
  name: text("name"),
  inbox: text("inbox"),
  sharedInbox: text("shared_inbox"),
  avatarUrl: text("avatar_url"),
  /**
   * A remote actor's avatar as served from here (a file among the avatars), the `avatar_url`
   * it was fetched from, and when fetching that URL last failed: readers' browsers never ask
   * the other server.
   */
  avatarFile: text("avatar_file"),
  avatarFileSource: text("avatar_file_source"),
  avatarFailedAt: timestamp("avatar_failed_at", { withTimezone: true }),
  fetchedAt: timestamp("fetched_at", { withTimezone: true }),
  /** A bot: a local user's bot, or a remote `Service` or `Application` (Mastodon's rule). */
  bot: boolean("bot").notNull().default(false),
  /**
   * When the actor was deleted: a local user who deleted their account, or a remote actor whose
   * server sent `Delete` of it. Shown as a deleted account; their messages stay.
   */
  deletedAt: timestamp("deleted_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Single-use tickets that open a live stream (a browser cannot set headers on a WebSocket):
 * valid 30 seconds, stored hashed, bound to the session that asked for them.
 */
export const streamTickets = pgTable(
  "stream_tickets",
  {
    ticketHash: text("ticket_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("stream_tickets_expires_at_idx").on(t.expiresAt)],
);

/** Who blocks whom: a blocked actor cannot open a conversation with the blocker. */
export const blocks = pgTable(
  "blocks",
  {
    blockerId: uuid("blocker_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    blockedId: uuid("blocked_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index("blocks_blocked_idx").on(t.blockedId)],
);

/**
 * Accepted contacts, one row per direction (`owner_id` lists `contact_id`), so a list is one
 * index scan. Either side may be a remote actor.
 */
export const contacts = pgTable(
  "contacts",
  {
    ownerId: uuid("owner_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    contactId: uuid("contact_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.ownerId, t.contactId] })],
);

/**
 * Pending contact requests. Accepting turns one into two `contacts` rows; declining or
 * cancelling deletes it. `iri` will hold the `Follow` activity's id for requests that travel
 * between servers.
 */
export const contactRequests = pgTable(
  "contact_requests",
  {
    id: uuid("id").primaryKey(),
    fromId: uuid("from_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    toId: uuid("to_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    iri: text("iri").unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("contact_requests_pair_idx").on(t.fromId, t.toId), index("contact_requests_to_idx").on(t.toId)],
);

/**
 * Who is connected where: one row per actor and server process with open streams, refreshed
 * every few seconds. An actor is online while any row of theirs is fresh, so a crashed
 * process's rows simply go stale.
 */
export const presence = pgTable(
  "presence",
  {
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    nodeId: text("node_id").notNull(),
    seenAt: timestamp("seen_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.actorId, t.nodeId] }), index("presence_seen_at_idx").on(t.seenAt)],
);

export type Actor = typeof actors.$inferSelect;
export type ContactRequest = typeof contactRequests.$inferSelect;
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Session = typeof sessions.$inferSelect;
