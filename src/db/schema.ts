/**
 * The tables of messages (and what hangs on them: edits, mentions, reactions, pins,
 * attachments, notifications) and mirrors' bookkeeping. Rooms, members and invites are in
 * schema-rooms.ts, people in schema-accounts.ts, federation's own tables in
 * schema-federation.ts, the event log in schema-stream.ts, the link preview cache in
 * schema-previews.ts, profile fields in schema-profile-fields.ts; all are re-exported here, the schema drizzle-kit reads.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
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
import { actors } from "./schema-accounts.ts";
import { rooms } from "./schema-rooms.ts";

export * from "./schema-access.ts";
export * from "./schema-accounts.ts";
export * from "./schema-commands.ts";
export * from "./schema-emoji.ts";
export * from "./schema-exports.ts";
export * from "./schema-federation.ts";
export * from "./schema-instance.ts";
export * from "./schema-invitations.ts";
export * from "./schema-previews.ts";
export * from "./schema-profile-fields.ts";
export * from "./schema-reports.ts";
export * from "./schema-rooms.ts";
export * from "./schema-stickers.ts";
export * from "./schema-stream.ts";
export * from "./schema-tokens.ts";
export * from "./schema-webhooks.ts";

/**
 * Messages. `seq` is the room's order, assigned by the room's server without gaps; `iri` is set
 * for messages that came from other servers. A delete keeps the row as a tombstone (content and
 * html emptied, `deleted_at` set) so replies and sequence numbers hold.
 *
 * The table also has a column drizzle does not know, `search`: the words of `content` for
 * search (src/search), a stored generated `tsvector` with a GIN index, written by hand in
 * migrations/0017_search.sql. PostgreSQL keeps it: an edit re-indexes by the new text, a
 * delete (content emptied) leaves nothing to find, with no trigger and no change to the send
 * function. Stored rather than an expression index because ranking and the newest-first scan
 * of a common word read it for every candidate, where an expression would parse the text
 * again (measured: test/bench/search.ts). The `simple` configuration neither stems nor drops
 * stop words in any language: chat here is multilingual. Kept out of the schema so that no
 * query that reads whole messages (every history page) carries it.
 */
export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    authorId: uuid("author_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    iri: text("iri").unique(),
    /** The client's transaction id: a resend with the same one returns the first message. */
    txnId: text("txn_id"),
    content: text("content").notNull(),
    html: text("html").notNull(),
    replyTo: uuid("reply_to"),
    /**
     * The first message of the thread this one replies in, or null on the room's main timeline.
     * A thread reply keeps its place in the room's numbering; clients show it in the thread.
     */
    threadRootId: uuid("thread_root_id"),
    /** A thread reply also shown on the room's main timeline ("also send to room"). */
    alsoInRoom: boolean("also_in_room").notNull().default(false),
    /**
     * For a message from another server: the author's latest activity about it (`Create` or
     * `Update`) as received, with its integrity proof, which the room relays verbatim.
     */
    activity: jsonb("activity"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    editedAt: timestamp("edited_at", { withTimezone: true }),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    deletedBy: uuid("deleted_by").references(() => actors.id, { onDelete: "set null" }),
    /** When the author removed the message's link preview cards (they stay removed after edits). */
    previewsRemovedAt: timestamp("previews_removed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("messages_room_seq_idx").on(t.roomId, t.seq),
    uniqueIndex("messages_txn_idx").on(t.roomId, t.authorId, t.txnId),
    index("messages_reply_idx").on(t.replyTo),
    index("messages_thread_idx").on(t.threadRootId, t.seq),
  ],
);

/**
 * How far a member has read a thread: the `seq` of the last reply read. Without a row, nothing
 * in the thread is read but what the member wrote (or what came before their own last reply).
 */
export const threadReads = pgTable(
  "thread_reads",
  {
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    rootId: uuid("root_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    lastReadSeq: bigint("last_read_seq", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.actorId, t.rootId] })],
);

/** Earlier versions of edited messages, newest last. */
export const messageEdits = pgTable(
  "message_edits",
  {
    id: uuid("id").primaryKey(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    content: text("content").notNull(),
    html: text("html").notNull(),
    /** When this version was replaced. */
    replacedAt: timestamp("replaced_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("message_edits_message_idx").on(t.messageId, t.replacedAt)],
);

/** Who a message mentions (for mention counts and notifications). */
export const messageMentions = pgTable(
  "message_mentions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    roomId: uuid("room_id").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.actorId] }),
    index("message_mentions_actor_idx").on(t.actorId, t.roomId, t.seq),
  ],
);

/** Reactions: one row per actor, message and emoji (a unicode emoji or `:shortcode:`). */
export const reactions = pgTable(
  "reactions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.actorId, t.key] })],
);

/**
 * Pinned messages, at most 50 a room (checked under the room's row lock). For a mirror, the
 * pins its room's `Group` lists in its `featured` collection; a tombstoned message leaves.
 */
export const roomPins = pgTable(
  "room_pins",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    /** Who pinned it; null for a mirror's pins (the room's server does not say) or a gone actor. */
    pinnedBy: uuid("pinned_by").references(() => actors.id, { onDelete: "set null" }),
    pinnedAt: timestamp("pinned_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.messageId] }), index("room_pins_room_idx").on(t.roomId, t.pinnedAt)],
);

/**
 * Files of messages. The bytes live under DATA_DIR/media/attachments named by their SHA-256
 * (`hash`), so identical files share one; a file goes once no row refers to its hash.
 * An upload belongs to its owner until a message takes it (`message_id`), or until a send to
 * a room on another server reserves it (`outbound_id`: the message gets that id once the room
 * announces it back). A remote message's attachment has a `remote_url` and no `hash` until
 * someone here opens it: the file is fetched then, checked like an upload, and kept.
 * The original file name is kept for display and download only, never as a path.
 */
export const attachments = pgTable(
  "attachments",
  {
    id: uuid("id").primaryKey(),
    ownerId: uuid("owner_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "cascade" }),
    /** The outbound message to a remote room that carries this upload until it comes back numbered. */
    outboundId: uuid("outbound_id").references(() => outboundMessages.id, { onDelete: "cascade" }),
    /** Lowercase hex SHA-256 of the bytes: the stored file's name; null until a remote file is fetched. */
    hash: text("hash"),
    /** The sanitised original file name. */
    name: text("name").notNull(),
    /** Recognised from the bytes; for a remote file not fetched yet, what its server declared. */
    mediaType: text("media_type").notNull(),
    /** Null until a remote file is fetched. */
    size: bigint("size", { mode: "number" }),
    /** Raster images only. */
    width: integer("width"),
    height: integer("height"),
    /** Whether a preview was made (DATA_DIR/media/previews/<hash>.webp). */
    preview: boolean("preview").notNull().default(false),
    /**
     * An image with more than one frame (GIF, WebP): its preview is animated too, and a still
     * of its first frame is kept beside it (DATA_DIR/media/previews/<hash>.still.webp).
     */
    animated: boolean("animated").notNull().default(false),
    /** Sent as a sticker (src/stickers): clients show it large, without a bubble. */
    sticker: boolean("sticker").notNull().default(false),
    /** Where a remote message's file comes from. */
    remoteUrl: text("remote_url"),
    /** Why a remote file was refused for good (an error code); it is not fetched again. */
    remoteError: text("remote_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("attachments_owner_idx").on(t.ownerId, t.createdAt),
    index("attachments_message_idx").on(t.messageId),
    index("attachments_outbound_idx").on(t.outboundId),
    index("attachments_hash_idx").on(t.hash),
    check("attachments_stored_or_remote", sql`${t.hash} is not null or ${t.remoteUrl} is not null`),
  ],
);

/**
 * What an actor is told about: mentions, replies, messages (rooms set to `all`), invites and
 * contact requests. One row per recipient and message at most, so a reply that also mentions
 * makes one notification.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    type: text("type", {
      enum: ["mention", "reply", "thread", "message", "invite", "contact_request", "report"],
    }).notNull(),
    fromId: uuid("from_id").references(() => actors.id, { onDelete: "cascade" }),
    roomId: uuid("room_id").references(() => rooms.id, { onDelete: "cascade" }),
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "cascade" }),
    /** Type-specific fields (an invite's code, a message snippet). */
    data: jsonb("data").notNull().default({}),
    readAt: timestamp("read_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("notifications_actor_idx").on(t.actorId, t.id),
    uniqueIndex("notifications_message_idx").on(t.actorId, t.messageId),
  ],
);

/**
 * A local user's request to join a room on another server, until its `Group` answers with
 * `Accept` (the user becomes a member) or `Reject`.
 */
export const pendingJoins = pgTable(
  "pending_joins",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    /** The `Join` activity's IRI, which the answer refers to. */
    activityIri: text("activity_iri").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.actorId] })],
);

/**
 * Messages a local user sent to a room on another server, until the room's server announces
 * them back with their sequence number. Keeps sends idempotent per txnId meanwhile.
 */
export const outboundMessages = pgTable(
  "outbound_messages",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    authorId: uuid("author_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    txnId: text("txn_id").notNull(),
    content: text("content").notNull(),
    html: text("html").notNull(),
    replyTo: uuid("reply_to"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("outbound_messages_txn_idx").on(t.roomId, t.authorId, t.txnId)],
);

/**
 * Messages from other servers deleted before they arrived here (a `Delete` that overtook its
 * `Create`): a late `Create` of one of these is ignored, so the message cannot come back.
 * A message a mirror's backfill finds already deleted keeps its number here, so the mirror's
 * numbering has no hole where it was. A `Join` withdrawn (`Undo{Join}`) before it was handled
 * is kept here too, by its IRI, so that it is refused when it comes (src/rooms/withdrawn-joins.ts).
 */
export const tombstones = pgTable(
  "tombstones",
  {
    iri: text("iri").primaryKey(),
    /** The mirror and number of a message its room's history lists as deleted, when known. */
    roomId: uuid("room_id").references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }),
    deletedAt: timestamp("deleted_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("tombstones_room_idx").on(t.roomId, t.seq)],
);

/**
 * Edits of remote messages that arrived before the message itself (deliveries are not ordered
 * across retries): held until the `Create` comes, then applied if newer, and purged after a day.
 */
export const earlyEdits = pgTable(
  "early_edits",
  {
    /** The IRI of the `Note` the edit is for. */
    iri: text("iri").primaryKey(),
    authorId: uuid("author_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    content: text("content").notNull(),
    html: text("html").notNull(),
    /** Local actors the edited text mentions. */
    mentioned: uuid("mentioned").array().notNull(),
    /** The note's `updated`, when it says. */
    updated: timestamp("updated", { withTimezone: true }),
    /** The `Update` as received, relayed once the message exists (rooms hosted here). */
    activity: jsonb("activity"),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("early_edits_received_idx").on(t.receivedAt)],
);

export type PendingJoin = typeof pendingJoins.$inferSelect;
export type Attachment = typeof attachments.$inferSelect;
export type Notification = typeof notifications.$inferSelect;
export type Message = typeof messages.$inferSelect;
export type RoomPin = typeof roomPins.$inferSelect;
