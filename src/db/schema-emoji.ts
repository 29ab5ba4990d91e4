/**
 * Custom emoji: this server's own (uploaded by admins) and other servers' (learnt from the
 * `Emoji` tags of federated notes, reactions and actors). Re-exported by schema.ts.
 * @module
 */
import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/**
 * One custom emoji, by its shortcode (without colons) and the host of the server it belongs
 * to (null for ours). A shortcode is unique per server whatever its case, as on Mastodon, so
 * `:Blob:` and `:blob:` cannot be two emoji. The image is stored under DATA_DIR/media/emoji
 * named by its SHA-256 (`file`, `<hash>.<ext>`): ours when uploaded, another server's the
 * first time someone here needs it (fetched from `remote_url` through the bounded fetcher).
 */
export const customEmoji = pgTable(
  "custom_emoji",
  {
    id: uuid("id").primaryKey(),
    shortcode: text("shortcode").notNull(),
    /** The host (with its port, if any) of the server the emoji belongs to; null for ours. */
    host: text("host"),
    /** The stored image (`<sha256>.<png|gif|webp>`); null for a remote emoji not fetched yet. */
    file: text("file"),
    /** Recognised from the bytes once stored; for a remote one not fetched yet, what its tag said. */
    mediaType: text("media_type"),
    width: integer("width"),
    height: integer("height"),
    /** Where a remote emoji's image is. */
    remoteUrl: text("remote_url"),
    /** The `remote_url` the stored file was fetched from (it is fetched again when they differ). */
    fileSource: text("file_source"),
    /** When fetching `remote_url` last failed: not asked again for a while. */
    failedAt: timestamp("failed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("custom_emoji_shortcode_idx").on(sql`lower(${t.shortcode})`, sql`coalesce(${t.host}, '')`),
    // The inbox's lookups: a reaction's image by its URL, and the per-server count of emoji.
    index("custom_emoji_remote_url_idx").on(t.remoteUrl),
    index("custom_emoji_host_idx").on(t.host),
    check(
      "custom_emoji_local_or_remote",
      sql`(${t.host} is null and ${t.file} is not null) or ${t.remoteUrl} is not null`,
    ),
  ],
);

export type CustomEmoji = typeof customEmoji.$inferSelect;
