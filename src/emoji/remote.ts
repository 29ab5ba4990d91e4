/**
 * Other servers' custom emoji, learnt from the `Emoji` tags of what they send (notes,
 * reactions, actors) and keyed by shortcode and host, so that `:blob:` from two servers are two
 * emoji. The image is fetched the first time someone here needs it, through the bounded
 * fetcher (public addresses only, size and time limits, each redirect checked), checked like an
 * upload (PNG, GIF or WebP) and served from our origin: a reader's browser never asks the other
 * server.
 */
import { createHash } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { type CustomEmoji, customEmoji } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { ImageLimits } from "../media/images.ts";
import { fetchRemoteMedia } from "../media/remote.ts";
import {
  checkEmojiImage,
  emojiFileName,
  localEmojiUrl,
  readEmojiFile,
  releaseEmojiFile,
  storeEmojiFile,
} from "./emoji.ts";

/** Another server's shortcode: what Misskey and Pleroma allow too (`+` and `-`), 1 to 64 long. */
export const remoteShortcode = /^[a-zA-Z0-9_+-]{1,64}$/;

/** A host with an optional port, as `URL.host` gives it. */
const hostPattern = /^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$/;

/** Other servers' emoji may be larger than ours (Misskey allows big ones); still bounded. */
export const remoteEmojiLimits: ImageLimits = { maxBytes: 512 * 1024, maxWidth: 1024, maxHeight: 1024 };

/** Most `Emoji` tags read from one object; the rest are ignored. */
export const maxEmojiTags = 20;

/** Most emoji kept of one other server; new ones beyond are ignored. */
export const maxEmojiPerHost = 5000;

/** After a failed fetch, the same URL is not asked again for this long. */
const retryAfterMs = 60 * 60 * 1000;

/** An `Emoji` tag as the federation layer reads it. */
export interface EmojiTag {
  /** The tag's `name`, with or without colons. */
  readonly name: string;
  /** The `icon`'s `url`. */
  readonly url: string;
  /** The `icon`'s `mediaType`, if it says (a hint only; the bytes decide). */
  readonly mediaType?: string | null;
}

/** A shortcode from a tag's name (`:blob:` or `blob`), or undefined when it is not one. */
export function tagShortcode(name: string): string | undefined {
  const bare = name.replace(/^:|:$/g, "");
  return remoteShortcode.test(bare) ? bare : undefined;
}

/** Whether a URL may be an emoji image: http(s), not too long. */
export function acceptableImageUrl(value: string): boolean {
  if (value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Where another server's emoji is served from here; the version changes with its image URL. */
export function remoteEmojiUrl(deps: Pick<Deps, "config">, row: Pick<CustomEmoji, "id" | "remoteUrl">): string {
  const version = createHash("sha256")
    .update(row.remoteUrl ?? "")
    .digest("base64url")
    .slice(0, 12);
  return `${deps.config.origin}/media/remote-emoji/${row.id}?v=${version}`;
}

/** Where any emoji is served from here. */
export function servedEmojiUrl(deps: Pick<Deps, "config">, row: CustomEmoji): string {
  return row.host == null ? localEmojiUrl(deps, row.file ?? "") : remoteEmojiUrl(deps, row);
}

/**
 * Remembers the emoji of another server that its `Emoji` tags name (a repeat updates the image
 * URL). Tags with a bad name or URL are skipped; at most {@link maxEmojiTags} are read.
 * @param host The server the emoji belong to: the host of the actor that sent them.
 * @returns The emoji, by shortcode as the tags spell it.
 */
export async function learnRemoteEmoji(
  deps: Pick<Deps, "db" | "config">,
  host: string,
  tags: readonly EmojiTag[],
): Promise<Map<string, CustomEmoji>> {
  const learnt = new Map<string, CustomEmoji>();
  if (!hostPattern.test(host) || host === new URL(deps.config.origin).host) return learnt;
  const wanted = tags.slice(0, maxEmojiTags).flatMap((tag) => {
    const shortcode = tagShortcode(tag.name);
    return shortcode != null && acceptableImageUrl(tag.url) ? [{ ...tag, shortcode }] : [];
  });
  if (wanted.length === 0) return learnt;
  // What is known already, in one query (the shortcode index), not one per tag.
  const known = new Map(
    (
      await deps.db
        .select()
        .from(customEmoji)
        .where(
          and(
            eq(customEmoji.host, host),
            inArray(sql`lower(${customEmoji.shortcode})`, [...new Set(wanted.map((t) => t.shortcode.toLowerCase()))]),
          ),
        )
    ).map((row) => [row.shortcode.toLowerCase(), row]),
  );
  // Counted once, when something new comes, and kept up to date from there.
  let count: number | undefined;
  for (const tag of wanted) {
    const { shortcode } = tag;
    if (learnt.has(shortcode)) continue;
    const existing = known.get(shortcode.toLowerCase());
    if (existing) {
      if (existing.remoteUrl === tag.url) {
        learnt.set(shortcode, existing);
        continue;
      }
      const [updated] = await deps.db
        .update(customEmoji)
        .set({ remoteUrl: tag.url, failedAt: null, updatedAt: sql`now()` })
        .where(eq(customEmoji.id, existing.id))
        .returning();
      if (updated) learnt.set(shortcode, updated);
      continue;
    }
    count ??=
      (
        await deps.db
          .select({ count: sql<number>`count(*)`.mapWith(Number) })
          .from(customEmoji)
          .where(eq(customEmoji.host, host))
      )[0]?.count ?? 0;
    if (count >= maxEmojiPerHost) break;
    const mediaType = tag.mediaType && /^image\/(png|gif|webp)$/.test(tag.mediaType) ? tag.mediaType : null;
    const [row] = await deps.db
      .insert(customEmoji)
      .values({ id: uuidv7(), shortcode, host, remoteUrl: tag.url, mediaType })
      .onConflictDoNothing()
      .returning();
    if (row) count++;
    const stored =
      row ??
      (
        await deps.db
          .select()
          .from(customEmoji)
          .where(and(eq(customEmoji.host, host), eq(sql`lower(${customEmoji.shortcode})`, shortcode.toLowerCase())))
      )[0];
    if (stored) {
      learnt.set(shortcode, stored);
      known.set(shortcode.toLowerCase(), stored);
    }
  }
  return learnt;
}

/** A remote emoji whose image is at this URL, if one is known. */
export async function remoteEmojiByUrl(deps: Pick<Deps, "db">, url: string): Promise<CustomEmoji | undefined> {
  const [row] = await deps.db.select().from(customEmoji).where(eq(customEmoji.remoteUrl, url)).limit(1);
  return row;
}

/** Fetches in flight, by emoji: concurrent readers wait for one fetch. */
const inFlight = new Map<string, Promise<string>>();

async function fetchAndStore(deps: Deps, row: CustomEmoji, source: string): Promise<string> {
  try {
    const { bytes } = await fetchRemoteMedia(deps.config, source, {
      limits: { maxBytes: remoteEmojiLimits.maxBytes, timeoutMs: 10_000, maxRedirects: 3 },
      accept: "image/png, image/gif, image/webp",
    });
    const image = await checkEmojiImage(bytes, remoteEmojiLimits);
    const stored = await deps.db.transaction(async (tx) => {
      const stored = await storeEmojiFile(deps, tx, image);
      await tx
        .update(customEmoji)
        .set({ ...stored, fileSource: source, failedAt: null })
        .where(eq(customEmoji.id, row.id));
      return stored;
    });
    if (row.file && row.file !== stored.file) await releaseEmojiFile(deps, row.file);
    return stored.file;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await deps.db
      .update(customEmoji)
      .set({ fileSource: source, failedAt: new Date() })
      .where(eq(customEmoji.id, row.id));
    throw new AppError("not_found", "That emoji could not be fetched.", { cause: error });
  }
}

/**
 * Another server's emoji image, fetched on first use.
 * @throws {AppError} `not_found`: no such emoji, or its image could not be fetched (not asked
 *   again for an hour) or is not one we take.
 */
export async function readRemoteEmoji(deps: Deps, id: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const [row] = await deps.db.select().from(customEmoji).where(eq(customEmoji.id, id));
  const source = row?.host != null ? row.remoteUrl : null;
  if (row == null || source == null) throw new AppError("not_found", "No such emoji.");
  if (row.file && emojiFileName.test(row.file) && row.fileSource === source) {
    return await readEmojiFile(deps, row.file).catch(async () =>
      readEmojiFile(deps, await fetchOnce(deps, row, source)),
    );
  }
  const failed = row.fileSource === source ? row.failedAt : null;
  if (failed && Date.now() - failed.getTime() < retryAfterMs) throw new AppError("not_found", "No such emoji.");
  return await readEmojiFile(deps, await fetchOnce(deps, row, source));
}

function fetchOnce(deps: Deps, row: CustomEmoji, source: string): Promise<string> {
  let pending = inFlight.get(row.id);
  if (pending == null) {
    pending = fetchAndStore(deps, row, source).finally(() => inFlight.delete(row.id));
    inFlight.set(row.id, pending);
  }
  return pending;
}
