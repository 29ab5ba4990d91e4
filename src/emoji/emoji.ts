/**
 * This server's custom emoji: admins upload, rename and delete them; everyone lists them. An
 * image is a PNG, GIF or WebP (animation kept: the bytes are stored as they came, never
 * re-encoded), checked from its bytes, stored under DATA_DIR/media/emoji by its SHA-256 and
 * served from our origin. Every change tells every connected client (`emoji.updated`).
 */
import { createHash } from "node:crypto";
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { and, asc, eq, isNull, ne, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { type CustomEmoji, customEmoji } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { place } from "../media/attachments.ts";
import { type ImageLimits, inspectImage } from "../media/images.ts";
import { appendEvents } from "../stream/events.ts";

/** An uploaded emoji: at most 256 KB and 256×256 pixels (Mastodon's size limit for local emoji). */
export const emojiLimits: ImageLimits = { maxBytes: 256 * 1024, maxWidth: 256, maxHeight: 256 };

/** The media types an emoji may have: no JPEG (no transparency), no SVG (a document, not an image). */
export const emojiMediaTypes = ["image/png", "image/gif", "image/webp"] as const;

/** A shortcode of ours: Mastodon's `[a-zA-Z0-9_]{2,}`, at most 64 long. */
export const localShortcode = /^[a-zA-Z0-9_]{2,64}$/;

/** A stored file's name: a SHA-256 and the extension of the sniffed type. */
export const emojiFileName = /^[0-9a-f]{64}\.(png|gif|webp)$/;

const extensions: Record<string, string> = { "image/png": "png", "image/gif": "gif", "image/webp": "webp" };

/** Most emoji a server keeps of its own. */
export const maxLocalEmoji = 2000;

/** An emoji as the API shows it. */
export interface EmojiView {
  readonly id: string;
  /** Without colons. */
  readonly shortcode: string;
  /** Served from our origin, for good (the URL names the bytes). */
  readonly url: string;
  readonly mediaType: string;
  readonly width: number | null;
  readonly height: number | null;
}

function emojiDir(deps: Pick<Deps, "config">): string {
  return join(deps.config.dataDir, "media", "emoji");
}

/** The public URL of one of our emoji. */
export function localEmojiUrl(deps: Pick<Deps, "config">, file: string): string {
  return `${deps.config.origin}/media/emoji/${file}`;
}

/** One of our emoji as the API shows it. */
export function emojiView(deps: Pick<Deps, "config">, row: CustomEmoji): EmojiView {
  return {
    id: row.id,
    shortcode: row.shortcode,
    url: localEmojiUrl(deps, row.file ?? ""),
    mediaType: row.mediaType ?? "image/png",
    width: row.width,
    height: row.height,
  };
}

/** Our emoji, by shortcode. */
export async function listLocalEmoji(deps: Pick<Deps, "db">): Promise<CustomEmoji[]> {
  return await deps.db
    .select()
    .from(customEmoji)
    .where(isNull(customEmoji.host))
    .orderBy(asc(sql`lower(${customEmoji.shortcode})`));
}

/** One of our emoji by its shortcode (any case), or undefined. */
export async function localEmojiByShortcode(
  deps: Pick<Deps, "db">,
  shortcode: string,
): Promise<CustomEmoji | undefined> {
  const [row] = await deps.db
    .select()
    .from(customEmoji)
    .where(and(isNull(customEmoji.host), eq(sql`lower(${customEmoji.shortcode})`, shortcode.toLowerCase())));
  return row;
}

/**
 * Checks a shortcode for one of ours.
 * @throws {AppError} `validation_failed`.
 */
export function checkShortcode(shortcode: string): string {
  if (!localShortcode.test(shortcode)) {
    throw new AppError("validation_failed", "A shortcode is 2 to 64 letters, digits or underscores.", {
      details: [{ path: "shortcode", message: "expected 2 to 64 of a-z, A-Z, 0-9 and _" }],
    });
  }
  return shortcode;
}

/** An emoji image checked and named, ready to be stored. */
export interface EmojiImage {
  readonly file: string;
  readonly mediaType: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
}

/**
 * Checks an emoji image and names it by its SHA-256 (`<hash>.<ext>`); nothing is stored.
 * @throws {AppError} `payload_too_large`, `unsupported_media_type` (not PNG, GIF or WebP) or
 *   `validation_failed` (too many pixels).
 */
export async function checkEmojiImage(bytes: Uint8Array, limits: ImageLimits = emojiLimits): Promise<EmojiImage> {
  const image = await inspectImage(bytes, limits);
  const extension = extensions[image.mediaType];
  if (extension == null) {
    throw new AppError("unsupported_media_type", "An emoji is a PNG, GIF or WebP image.", {
      details: { detected: image.mediaType, accepted: emojiMediaTypes },
    });
  }
  const file = `${createHash("sha256").update(bytes).digest("hex")}.${extension}`;
  return { file, mediaType: image.mediaType, width: image.width, height: image.height, bytes };
}

/**
 * Takes an emoji file's lock until the transaction ends, as stickers' and attachments' files
 * have theirs: a file is written and its row committed, or checked unused and removed, never
 * interleaved (deleting :old: while :new: with the same bytes is added keeps the file).
 */
async function lockEmojiFile(tx: DatabaseLike, file: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`emoji:${file}`}, 0))`);
}

/**
 * Stores a checked image under its name (an existing identical file is kept), inside the
 * transaction that writes the row pointing at it, under the file's lock.
 * @returns The row's image columns.
 */
export async function storeEmojiFile(
  deps: Pick<Deps, "config">,
  tx: DatabaseLike,
  image: EmojiImage,
): Promise<{ file: string; mediaType: string; width: number; height: number }> {
  await lockEmojiFile(tx, image.file);
  // A temporary name of its own, renamed into place: never a half-written file served, and
  // two writes of the same bytes at once do not share one temporary file.
  await place(join(emojiDir(deps), image.file), image.bytes);
  return { file: image.file, mediaType: image.mediaType, width: image.width, height: image.height };
}

/**
 * Deletes a stored file unless another emoji (ours or a remote one) has the same bytes; checked
 * and removed under the file's lock.
 */
export async function releaseEmojiFile(deps: Pick<Deps, "db" | "config">, file: string | null): Promise<void> {
  if (file == null || !emojiFileName.test(file)) return;
  await deps.db.transaction(async (tx) => {
    await lockEmojiFile(tx, file);
    const [other] = await tx.select({ id: customEmoji.id }).from(customEmoji).where(eq(customEmoji.file, file));
    if (other == null) await unlink(join(emojiDir(deps), file)).catch(() => {});
  });
}

/**
 * Reads a stored emoji image by its file name.
 * @throws {AppError} `not_found`.
 */
export async function readEmojiFile(
  deps: Pick<Deps, "config">,
  file: string,
): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const extension = emojiFileName.exec(file)?.[1];
  const mediaType = Object.entries(extensions).find(([, ext]) => ext === extension)?.[0];
  if (mediaType == null) throw new AppError("not_found", "No such emoji.");
  try {
    return { bytes: await readFile(join(emojiDir(deps), file)), mediaType };
  } catch {
    throw new AppError("not_found", "No such emoji.");
  }
}

/** Tells every connected client that our emoji changed (they fetch the list again). */
async function announceChange(tx: DatabaseLike): Promise<void> {
  await appendEvents(tx, [{ type: "emoji.updated", data: {} }]);
}

function taken(shortcode: string): AppError {
  return new AppError("shortcode_taken", `There is an emoji :${shortcode}: already.`, {
    details: [{ path: "shortcode", message: "taken" }],
  });
}

/**
 * Adds one of our emoji. The image is checked before anything is stored; a refused upload
 * changes nothing.
 * @throws {AppError} `validation_failed` (shortcode, pixels), `shortcode_taken`,
 *   `payload_too_large`, `unsupported_media_type`, `conflict` (too many emoji).
 */
export async function addEmoji(deps: Deps, shortcode: string, bytes: Uint8Array): Promise<CustomEmoji> {
  checkShortcode(shortcode);
  if (await localEmojiByShortcode(deps, shortcode)) throw taken(shortcode);
  const image = await checkEmojiImage(bytes);
  try {
    return await deps.db.transaction(async (tx) => {
      // One writer at a time: the count and the shortcode are checked against committed rows.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('custom_emoji'))`);
      const [{ count } = { count: 0 }] = await tx
        .select({ count: sql<number>`count(*)`.mapWith(Number) })
        .from(customEmoji)
        .where(isNull(customEmoji.host));
      if (count >= maxLocalEmoji) throw new AppError("conflict", `A server keeps at most ${maxLocalEmoji} emoji.`);
      if (await localEmojiByShortcode({ db: tx }, shortcode)) throw taken(shortcode);
      const stored = await storeEmojiFile(deps, tx, image);
      const [row] = await tx
        .insert(customEmoji)
        .values({ id: uuidv7(), shortcode, ...stored })
        .returning();
      await announceChange(tx);
      return row as CustomEmoji;
    });
  } catch (error) {
    // Written and then refused (a count or shortcode lost to a concurrent add): not kept unused.
    await releaseEmojiFile(deps, image.file);
    throw error;
  }
}

/** One of our emoji by id. @throws {AppError} `emoji_not_found`. */
async function localEmoji(db: DatabaseLike, id: string): Promise<CustomEmoji> {
  const [row] = await db
    .select()
    .from(customEmoji)
    .where(and(eq(customEmoji.id, id), isNull(customEmoji.host)));
  if (row == null) throw new AppError("emoji_not_found", "No such emoji on this server.");
  return row;
}

/**
 * Gives one of our emoji a new shortcode. Messages keep their text: a `:old:` in them shows
 * as text from now on, as on Mastodon.
 * @throws {AppError} `emoji_not_found`, `validation_failed`, `shortcode_taken`.
 */
export async function renameEmoji(deps: Deps, id: string, shortcode: string): Promise<CustomEmoji> {
  checkShortcode(shortcode);
  return await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('custom_emoji'))`);
    await localEmoji(tx, id);
    const [clash] = await tx
      .select({ id: customEmoji.id })
      .from(customEmoji)
      .where(
        and(
          isNull(customEmoji.host),
          eq(sql`lower(${customEmoji.shortcode})`, shortcode.toLowerCase()),
          ne(customEmoji.id, id),
        ),
      );
    if (clash) throw taken(shortcode);
    const [row] = await tx
      .update(customEmoji)
      .set({ shortcode, updatedAt: sql`now()` })
      .where(eq(customEmoji.id, id))
      .returning();
    await announceChange(tx);
    return row as CustomEmoji;
  });
}

/**
 * Deletes one of our emoji and its file (unless another emoji has the same bytes). Reactions
 * with it stay, shown as their `:shortcode:`.
 * @throws {AppError} `emoji_not_found`.
 */
export async function deleteEmoji(deps: Deps, id: string): Promise<void> {
  const removed = await deps.db.transaction(async (tx) => {
    const row = await localEmoji(tx, id);
    await tx.delete(customEmoji).where(eq(customEmoji.id, id));
    await announceChange(tx);
    return row;
  });
  await releaseEmojiFile(deps, removed.file);
}
