import { sql } from "drizzle-orm";
import { check, pgTable, primaryKey, smallint, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { actors } from "./schema-accounts.ts";

/**
 * Profile fields (label and value, at most four per actor, as on Mastodon), of local users and
 * of remote actors (from their `Person`'s `PropertyValue` attachments). `verified_at` is set
 * when the value is an https link whose page links back to the actor with `rel="me"`, checked
 * by this server (never taken from another server's word).
 */
export const profileFields = pgTable(
  "profile_fields",
  {
    actorId: uuid("actor_id")
      .notNull()
      .references(() => actors.id, { onDelete: "cascade" }),
    /** 0 to 3: the order shown. */
    position: smallint("position").notNull(),
    name: text("name").notNull(),
    value: text("value").notNull(),
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.actorId, t.position] }),
    check("profile_fields_position_range", sql`${t.position} between 0 and 3`),
  ],
);

export type ProfileField = typeof profileFields.$inferSelect;
