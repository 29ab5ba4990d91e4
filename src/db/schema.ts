import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

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

export type FedifyKvRow = typeof fedifyKv.$inferSelect;
export type FedifyQueueRow = typeof fedifyQueue.$inferSelect;
export type ServerKey = typeof serverKeys.$inferSelect;
