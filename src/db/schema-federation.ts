/**
 * The tables of federation: Fedify's own store and queue, the server's keys, blocked servers,
 * and the delivery of what rooms here publish (the publisher's cursor, the outbox, one
 * delivery stream per destination inbox). Re-exported by schema.ts.
 * @module
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

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

/** Servers whose activities and IRIs are refused, managed by the admin command. */
export const blockedServers = pgTable("blocked_servers", {
  /** Lowercase host name (with port when not the default). */
  host: text("host").primaryKey(),
  reason: text("reason").notNull().default(""),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * What other servers run, from their NodeInfo (`software.name`), by origin: which shape of a
 * room's activities each one shows. Learned in the background, again after a day.
 */
export const knownServers = pgTable("known_servers", {
  /** `https://host[:port]`. */
  origin: text("origin").primaryKey(),
  /** NodeInfo's `software.name` (lowercase), or null when it could not be read. */
  software: text("software"),
  version: text("version"),
  checkedAt: timestamp("checked_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Deliveries the inbox refused because it does not handle their type (an activity, or the
 * object of a `Create`/`Update`), counted per sending server, refusal and type: what other
 * servers send that this one drops. At most 100 types per server; more count as `(other)`.
 */
export const inboxRefusals = pgTable(
  "inbox_refusals",
  {
    /** The host of the signing key, or `(unsigned)`. */
    host: text("host").notNull(),
    /** `unsupported_activity` or `unsupported_object`. */
    code: text("code").notNull(),
    type: text("type").notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(1),
    firstAt: timestamp("first_at", { withTimezone: true }).notNull().defaultNow(),
    lastAt: timestamp("last_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.host, t.code, t.type] })],
);

/**
 * How far the federation publisher has read the event log (one row). A process leases it
 * (`leased_until`) while it publishes a batch, so processes take turns without holding a
 * transaction open across the work.
 */
export const federationCursor = pgTable("federation_cursor", {
  id: integer("id").primaryKey(),
  position: bigint("position", { mode: "number" }).notNull(),
  leasedUntil: timestamp("leased_until", { withTimezone: true }),
});

/**
 * What rooms here publish, one row per activity (not per delivery): the publisher writes the
 * activity's JSON once, with every inbox it goes to, and each destination's delivery stream
 * reads the rows that name its inbox past its own position. Rows go once every stream has
 * passed them, or after four days (longer than any stream keeps retrying).
 */
export const federationOutbox = pgTable(
  "federation_outbox",
  {
    /** The position of the event the activity tells of, in the event log. */
    position: bigint("position", { mode: "number" }).notNull(),
    /**
     * Which telling of the event: 0, the room's own (FEP-1b12), for most servers; 1, the
     * shape a microblog shows (an `Announce` of the note by its id), for Mastodon and its
     * kind. No inbox is in two variants of one position, so a stream's position is enough.
     */
    variant: smallint("variant").notNull().default(0),
    /** The room whose `Group` signs and sends it. */
    roomId: uuid("room_id").notNull(),
    /**
     * Whether it may overtake its neighbours on the way (a new message: receivers number
     * messages); anything else (a reaction, an edit, a membership change) is sent alone.
     */
    reorderable: boolean("reorderable").notNull().default(false),
    /** The activity as sent: JSON, serialised once. */
    body: text("body").notNull(),
    /** Destination inboxes (shared inboxes where servers have them), no repeats. */
    inboxes: text("inboxes").array().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.position, t.variant] }),
    index("federation_outbox_inboxes_idx").using("gin", t.inboxes),
    index("federation_outbox_created_idx").on(t.createdAt),
  ],
);

/**
 * One delivery stream per destination inbox: how far it has delivered (`position`, an outbox
 * position), the last position queued for it (`queued`, so finding streams with work is one
 * index scan), its backoff, the process that holds it (a lease renewed while it works, so a
 * crashed process's streams are taken over within seconds), and the signature scheme the
 * destination accepted last.
 */
export const deliveryStreams = pgTable(
  "delivery_streams",
  {
    inbox: text("inbox").primaryKey(),
    position: bigint("position", { mode: "number" }).notNull(),
    queued: bigint("queued", { mode: "number" }).notNull(),
    /** Failed attempts in a row; the backoff grows with them. */
    failures: integer("failures").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    leasedBy: text("leased_by"),
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    /** `rfc9421` (Ed25519) or `draft-cavage-http-signatures-12` (RSA); null until known. */
    signatureSpec: text("signature_spec"),
    lastError: text("last_error"),
    lastSuccessAt: timestamp("last_success_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("delivery_streams_due_idx").on(t.nextAttemptAt).where(sql`${t.queued} > ${t.position}`)],
);

export type FedifyKvRow = typeof fedifyKv.$inferSelect;
export type FedifyQueueRow = typeof fedifyQueue.$inferSelect;
export type ServerKey = typeof serverKeys.$inferSelect;
export type DeliveryStream = typeof deliveryStreams.$inferSelect;
