/**
 * Sticker packs and their stickers. Re-exported by schema.ts. A pack is the server's (made by
 * admins, visible to every local user) or one user's own (visible to that user only). A
 * sticker's image is stored under DATA_DIR/media/stickers by its SHA-256; sending one copies
 * it into an ordinary attachment (src/stickers/send.ts), so messages never depend on a pack.
 * @module
 */
import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./schema-accounts.ts";

/** A sticker pack: `owner_id` null for a server pack, else the user whose personal pack it is. */
export const stickerPacks = pgTable(
  "sticker_packs",
  {
    id: uuid("id").primaryKey(),
    ownerId: uuid("owner_id").references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("sticker_packs_owner_idx").on(t.ownerId, t.createdAt)],
);

/** One sticker: an image (PNG, GIF or WebP) in a pack, with a name and an optional emoji hint. */
export const stickers = pgTable(
  "stickers",
  {
    id: uuid("id").primaryKey(),
    packId: uuid("pack_id")
      .notNull()
      .references(() => stickerPacks.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** An emoji that says what the sticker means (a search hint), or null. */
    emoji: text("emoji"),
    /** Lowercase hex SHA-256 of the image: its file's name. */
    hash: text("hash").notNull(),
    mediaType: text("media_type").notNull(),
    size: integer("size").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    /** More than one frame: a still of the first is stored beside it. */
    animated: boolean("animated").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("stickers_pack_idx").on(t.packId, t.createdAt),
    index("stickers_hash_idx").on(t.hash),
    check("stickers_media_type", sql`${t.mediaType} in ('image/png', 'image/gif', 'image/webp')`),
  ],
);

export type StickerPack = typeof stickerPacks.$inferSelect;
export type Sticker = typeof stickers.$inferSelect;
