/**
 * Reports: what users (and, by `Flag`, other servers) tell moderators and admins about a
 * message, a user or a room, and what was done about it. Re-exported by schema.ts; the domain
 * is src/reports/.
 * @module
 */
import { index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { actors } from "./schema-accounts.ts";
import { rooms } from "./schema-rooms.ts";

/** What a report is about. */
export const reportKinds = ["message", "user", "room"] as const;
/** Why, as the reporter chose (Mastodon's categories, with harassment and violence apart). */
export const reportCategories = ["spam", "harassment", "violence", "illegal", "other"] as const;
/** Where a report stands in the queue. */
export const reportStatuses = ["open", "resolved", "dismissed"] as const;

/**
 * One report. A local user's has `reporterId`; one that came from another server as a `Flag`
 * has `origin` (that server's host) and `flagIri` instead, and never names a person. Moderators
 * of `roomId` (a room hosted here) see it, and every admin of the instance.
 */
export const reports = pgTable(
  "reports",
  {
    id: uuid("id").primaryKey(),
    kind: text("kind", { enum: reportKinds }).notNull(),
    category: text("category", { enum: reportCategories }).notNull(),
    comment: text("comment").notNull().default(""),
    status: text("status", { enum: reportStatuses }).notNull().default("open"),
    reporterId: uuid("reporter_id").references(() => actors.id, { onDelete: "set null" }),
    /** The host of the server whose `Flag` made this report; null for a local user's. */
    origin: text("origin"),
    /** The `Flag`'s id, so that a delivery repeated makes one report. */
    flagIri: text("flag_iri"),
    /** The person reported, or the author of the messages reported. */
    targetActorId: uuid("target_actor_id").references(() => actors.id, { onDelete: "set null" }),
    roomId: uuid("room_id").references(() => rooms.id, { onDelete: "set null" }),
    /** When it was sent to the reported person's server as a `Flag`. */
    forwardedAt: timestamp("forwarded_at", { withTimezone: true }),
    resolvedBy: uuid("resolved_by").references(() => actors.id, { onDelete: "set null" }),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("reports_status_idx").on(t.status, t.id),
    index("reports_room_idx").on(t.roomId, t.id),
    index("reports_origin_idx").on(t.origin, t.createdAt),
    uniqueIndex("reports_flag_idx").on(t.flagIri),
  ],
);

/**
 * The messages attached to a report, as they were when reported: a delete (perhaps the action
 * taken) empties the message, and the evidence must stay.
 */
export const reportMessages = pgTable(
  "report_messages",
  {
    reportId: uuid("report_id")
      .notNull()
      .references(() => reports.id, { onDelete: "cascade" }),
    messageId: uuid("message_id").notNull(),
    authorId: uuid("author_id").references(() => actors.id, { onDelete: "set null" }),
    /** The message's ActivityPub IRI (what a forwarded `Flag` names). */
    url: text("url").notNull(),
    content: text("content").notNull(),
    html: text("html").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.reportId, t.messageId] })],
);

/** What was done from a report, by whom: the report's own log. */
export const reportActions = pgTable(
  "report_actions",
  {
    id: uuid("id").primaryKey(),
    reportId: uuid("report_id")
      .notNull()
      .references(() => reports.id, { onDelete: "cascade" }),
    actorId: uuid("actor_id").references(() => actors.id, { onDelete: "set null" }),
    /** `delete_messages`, `kick`, `ban`, `suspend`, `block_server`, `forward`, `resolved`, `dismissed`. */
    action: text("action").notNull(),
    /** A word on it: the reason given, the server blocked. */
    note: text("note").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("report_actions_report_idx").on(t.reportId, t.id)],
);

export type Report = typeof reports.$inferSelect;
export type ReportMessage = typeof reportMessages.$inferSelect;
export type ReportAction = typeof reportActions.$inferSelect;
