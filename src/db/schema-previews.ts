/**
 * The link preview cache: one row per normalised URL, shared by every message that links it.
 * Re-exported by schema.ts. Who sees cards (the room's and the user's settings, a message's
 * removed cards) is kept on those rows, in schema.ts and schema-accounts.ts.
 * @module
 */
import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * What a page said about itself (Open Graph, Twitter card and HTML meta tags), fetched by the
 * server through the bounded fetcher. A failed fetch is a row too (`status` `failed`, shorter
 * life), so a dead link is not asked again by every reader. The image is a WebP made here,
 * stored under DATA_DIR/media/link-previews by its SHA-256 and served from our origin.
 */
export const linkPreviews = pgTable(
  "link_previews",
  {
    url: text("url").primaryKey(),
    status: text("status", { enum: ["ok", "failed"] }).notNull(),
    title: text("title"),
    description: text("description"),
    siteName: text("site_name"),
    /** The stored image's file name (`<sha256>.webp`), or null. */
    image: text("image"),
    imageWidth: integer("image_width"),
    imageHeight: integer("image_height"),
    /** Why the fetch failed (the fetcher's reason), for operators. */
    error: text("error"),
    fetchedAt: timestamp("fetched_at", { withTimezone: true }).notNull().defaultNow(),
    /** After this the row is fetched again on next use, and housekeeping may delete it. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("link_previews_expires_idx").on(t.expiresAt)],
);

export type LinkPreview = typeof linkPreviews.$inferSelect;
