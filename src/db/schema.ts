import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/**
 * Fedify's key–value store (federation/kv.ts): caches, idempotency records, key caches.
 * Keys are Fedify's string arrays, so prefix listing is an array slice comparison.
 */
export const fedifyKv = pgTable(
  "fedify_kv",
  {
    key: text("key").array().primaryKey(),
    value: jsonb("value").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
  },
  (t) => [index("fedify_kv_expires_at_idx").on(t.expiresAt).where(sql`${t.expiresAt} is not null`)],
);

/**
 * Fedify's durable message queue (federation/queue.ts). A worker leases a row by moving
 * `locked_until` forward and deletes it when done, so a crashed worker's message is handled
 * again once its lease runs out. Payloads hold the sender's private keys: this table is secret.
 */
export const fedifyQueue = pgTable(
  "fedify_queue",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    message: jsonb("message").notNull(),
    orderingKey: text("ordering_key"),
    deliverAt: timestamp("deliver_at", { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("fedify_queue_deliver_at_idx").on(t.deliverAt, t.id),
    index("fedify_queue_ordering_key_idx").on(t.orderingKey, t.id).where(sql`${t.orderingKey} is not null`),
  ],
);

/**
 * Key pairs of the server itself (the instance actor's RSA and Ed25519 keys), as JWK.
 * Generated once by whichever process first needs them.
 */
export const serverKeys = pgTable("server_keys", {
  purpose: text("purpose").primaryKey(),
  privateKey: jsonb("private_key").notNull(),
  publicKey: jsonb("public_key").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Local accounts. `username` is stored lowercase (handles are case-insensitive) and is unique;
 * the key pairs (JWK) are made at registration and sign the user's `Person` activities.
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
    passwordHash: text("password_hash").notNull(),
    rsaPrivateKey: jsonb("rsa_private_key").notNull(),
    rsaPublicKey: jsonb("rsa_public_key").notNull(),
    ed25519PrivateKey: jsonb("ed25519_private_key").notNull(),
    ed25519PublicKey: jsonb("ed25519_public_key").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    suspendedAt: timestamp("suspended_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("users_username_idx").on(t.username)],
);

/**
 * A login on one device: the family of refresh tokens issued since. Revoking the session
 * stops its access tokens at once (each request checks the row) and its refresh tokens.
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

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Session = typeof sessions.$inferSelect;
export type FedifyKvRow = typeof fedifyKv.$inferSelect;
export type FedifyQueueRow = typeof fedifyQueue.$inferSelect;
export type ServerKey = typeof serverKeys.$inferSelect;
