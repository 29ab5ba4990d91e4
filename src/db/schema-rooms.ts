/**
 * The tables of rooms: the rooms themselves, members, keys, bans, invites and the moderation
 * log. Re-exported by schema.ts.
 * @module
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
  uuid,
} from "drizzle-orm/pg-core";
import { actorKeyColumns, actors } from "./schema-accounts.ts";

/** A chat room: an ActivityPub `Group`. `last_seq` hands out the per-room message sequence. */
export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey(),
    /** The remote room's Group IRI; null for rooms hosted here. */
    iri: text("iri").unique(),
    /** A remote room's Group inbox, shared inbox and outbox (its history, paged by seq). */
    inbox: text("inbox"),
    sharedInbox: text("shared_inbox"),
    outbox: text("outbox"),
    /** A remote room's `featured` collection (its pinned messages), where pins are sent. */
    featured: text("featured"),
    name: text("name").notNull(),
    topic: text("topic").notNull().default(""),
    avatar: text("avatar"),
    theme: text("theme"),
    visibility: text("visibility", { enum: ["public", "private"] }).notNull(),
    direct: boolean("direct").notNull().default(false),
    /** For a one-to-one conversation, its two actor ids in order: the same pair gets one room. */
    directKey: text("direct_key").unique(),
    /** In a direct room: whether someone gave it a name (else the others in it name it). */
    nameChosen: boolean("name_chosen").notNull().default(false),
    createdBy: uuid("created_by").references(() => actors.id, { onDelete: "set null" }),
    /** Whether links in the room's messages get preview cards (moderators turn it off). */
    linkPreviews: boolean("link_previews").notNull().default(true),
    /** Whether bots may join and post (moderators turn it off; bots already in stay, silent). */
    allowBots: boolean("allow_bots").notNull().default(true),
    /**
     * Messages older than this many days are deleted (tombstoned) by the retention job; null
     * keeps them. Set by moderators in a hosted room; a mirror keeps its `Group`'s value.
     */
    retentionDays: integer("retention_days"),
    lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    index("rooms_directory_idx").on(t.visibility, t.direct, t.deletedAt),
    index("rooms_retention_idx").on(t.id).where(sql`${t.retentionDays} is not null`),
    check("rooms_retention_days_range", sql`${t.retentionDays} is null or ${t.retentionDays} between 1 and 3650`),
  ],
);

/** Who is in which room, with what role, and how far they have read. */
export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["owner", "admin", "moderator", "member"] }).notNull(),
    nickname: text("nickname"),
    color: text("color"),
    lastReadSeq: bigint("last_read_seq", { mode: "number" }).notNull().default(0),
    /**
     * Which messages notify the member: every one, mentions and replies, or none. Null follows
     * the room's kind: `all` in direct conversations, `mentions` elsewhere.
     */
    notificationLevel: text("notification_level", { enum: ["all", "mentions", "none"] }),
    /** A muted room creates no notifications at all, whatever the level. */
    muted: boolean("muted").notNull().default(false),
    joinedAt: timestamp("joined_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.actorId] }), index("room_members_actor_idx").on(t.actorId)],
);

/**
 * A room's key pairs (JWK), for its `Group` actor: RSA for HTTP signatures, Ed25519 for
 * integrity proofs. Made the first time the room is fetched or has to sign.
 */
export const roomKeys = pgTable("room_keys", {
  roomId: uuid("room_id")
    .primaryKey()
    .references(() => rooms.id, { onDelete: "cascade" }),
  ...actorKeyColumns(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Bans: a banned actor can neither rejoin nor be invited until unbanned. */
export const roomBans = pgTable(
  "room_bans",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    reason: text("reason").notNull().default(""),
    bannedBy: uuid("banned_by").references(() => actors.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.actorId] })],
);

/** Invite codes, stored as SHA-256 hashes; redeeming counts a use atomically. */
export const invites = pgTable(
  "invites",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull().unique(),
    createdBy: uuid("created_by").references(() => actors.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** A targeted invite: only this actor may redeem it, and they are notified. */
    inviteeId: uuid("invitee_id").references(() => actors.id, { onDelete: "cascade" }),
  },
  (t) => [index("invites_room_idx").on(t.roomId)],
);

/** Who did what to whom in a room, readable by its moderators. */
export const moderationLog = pgTable(
  "moderation_log",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id").references(() => actors.id, { onDelete: "set null" }),
    action: text("action").notNull(),
    targetActorId: uuid("target_actor_id").references(() => actors.id, { onDelete: "set null" }),
    targetMessageId: uuid("target_message_id"),
    reason: text("reason"),
    data: jsonb("data"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("moderation_log_room_idx").on(t.roomId, t.createdAt)],
);

export type Room = typeof rooms.$inferSelect;
export type RoomMember = typeof roomMembers.$inferSelect;
export type Invite = typeof invites.$inferSelect;
