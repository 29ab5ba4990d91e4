/**
 * Custom emoji where they are used: `:shortcode:` in a message's text or a display name means
 * the emoji of the author's server (Mastodon's rule: a status's emoji are looked up by
 * shortcode and the account's domain), and a reaction's key names its emoji, `:blob:` for ours
 * and `:blob@host:` for another server's (Misskey's form), so that the two never collide.
 */
import { and, inArray, isNull, or, sql } from "drizzle-orm";
import { type CustomEmoji, customEmoji } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { localEmojiUrl } from "./emoji.ts";
import { remoteEmojiByUrl, servedEmojiUrl } from "./remote.ts";

/** Most distinct emoji looked up in one text. */
export const maxEmojiPerText = 50;

/** An emoji as messages, names and reactions carry it: how it is written and where its image is. */
export interface UsedEmoji {
  /** As written, without colons: `blob`, or in a reaction key `blob@other.example`. */
  readonly shortcode: string;
  /** Served from our origin. */
  readonly url: string;
}

/** The same emoji as one of our `Emoji` tags shows it to other servers. */
export interface OutgoingEmoji {
  /** With colons, as Mastodon writes a tag's name. */
  readonly name: string;
  /** Where the image is: ours, or another server's original URL. */
  readonly url: string;
  readonly mediaType: string | null;
  readonly updated: Date;
}

/** The distinct `:shortcode:`s of a text, as written (at most {@link maxEmojiPerText}). */
export function textShortcodes(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/:([a-zA-Z0-9_+-]{1,64}):/g)) {
    if (match[1]) found.add(match[1]);
    if (found.size >= maxEmojiPerText) break;
  }
  return [...found];
}

/** A reaction key's custom emoji: `:blob:` (host null, ours) or `:blob@host:`. */
export function customReactionKey(key: string): { shortcode: string; host: string | null } | undefined {
  const match = /^:([a-zA-Z0-9_+-]{1,64})(?:@([a-z0-9.-]{1,253}(?::[0-9]{1,5})?))?:$/.exec(key);
  if (match?.[1] == null) return undefined;
  return { shortcode: match[1], host: match[2] ?? null };
}

const refKey = (shortcode: string, host: string | null) => `${shortcode.toLowerCase()}@${host ?? ""}`;

/** The emoji named by (shortcode, host) pairs, in one query, by `refKey`. */
async function lookup(
  deps: Pick<Deps, "db">,
  refs: readonly { shortcode: string; host: string | null }[],
): Promise<Map<string, CustomEmoji>> {
  const found = new Map<string, CustomEmoji>();
  if (refs.length === 0) return found;
  const names = [...new Set(refs.map((r) => r.shortcode.toLowerCase()))];
  const hosts = [...new Set(refs.flatMap((r) => (r.host ? [r.host] : [])))];
  const rows = await deps.db
    .select()
    .from(customEmoji)
    .where(
      and(
        inArray(sql`lower(${customEmoji.shortcode})`, names),
        hosts.length ? or(isNull(customEmoji.host), inArray(customEmoji.host, hosts)) : isNull(customEmoji.host),
      ),
    );
  for (const row of rows) found.set(refKey(row.shortcode, row.host), row);
  return found;
}

/**
 * The emoji each text uses, for texts by authors of the given hosts (null: ours).
 * @returns For each item's `id`, the emoji its text names that are known here.
 */
export async function emojiInTexts(
  deps: Pick<Deps, "db" | "config">,
  items: readonly { id: string; host: string | null; text: string }[],
): Promise<Map<string, UsedEmoji[]>> {
  const wanted = items.map((item) => ({
    ...item,
    shortcodes: item.text.includes(":") ? textShortcodes(item.text) : [],
  }));
  const found = await lookup(
    deps,
    wanted.flatMap((item) => item.shortcodes.map((shortcode) => ({ shortcode, host: item.host }))),
  );
  const result = new Map<string, UsedEmoji[]>();
  for (const item of wanted) {
    const used = item.shortcodes.flatMap((shortcode) => {
      const row = found.get(refKey(shortcode, item.host));
      return row ? [{ shortcode, url: servedEmojiUrl(deps, row) }] : [];
    });
    if (used.length) result.set(item.id, used);
  }
  return result;
}

/** The images of reaction keys that name a known custom emoji, by key. */
export async function reactionEmojiUrls(
  deps: Pick<Deps, "db" | "config">,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const parsed = [...new Set(keys)].flatMap((key) => {
    const ref = customReactionKey(key);
    return ref ? [{ key, ...ref }] : [];
  });
  const found = await lookup(deps, parsed);
  const result = new Map<string, string>();
  for (const { key, shortcode, host } of parsed) {
    const row = found.get(refKey(shortcode, host));
    if (row) result.set(key, servedEmojiUrl(deps, row));
  }
  return result;
}

/** Whether a reaction key may be used by someone here: anything but an unknown `:blob@host:`. */
export async function knownReactionKey(deps: Pick<Deps, "db" | "config">, key: string): Promise<boolean> {
  const ref = customReactionKey(key);
  if (ref?.host == null) return true;
  return (await lookup(deps, [ref])).has(refKey(ref.shortcode, ref.host));
}

function outgoing(deps: Pick<Deps, "config">, row: CustomEmoji, name: string): OutgoingEmoji | undefined {
  const url = row.host == null ? (row.file ? localEmojiUrl(deps, row.file) : null) : row.remoteUrl;
  return url ? { name: `:${name}:`, url, mediaType: row.mediaType, updated: row.updatedAt } : undefined;
}

/** The `Emoji` tags of one of our texts (a message, a display name): our emoji it names. */
export async function outgoingTextEmoji(deps: Pick<Deps, "db" | "config">, text: string): Promise<OutgoingEmoji[]> {
  const shortcodes = text.includes(":") ? textShortcodes(text) : [];
  const found = await lookup(
    deps,
    shortcodes.map((shortcode) => ({ shortcode, host: null })),
  );
  return shortcodes.flatMap((shortcode) => {
    const row = found.get(refKey(shortcode, null));
    const tag = row && outgoing(deps, row, row.shortcode);
    return tag ? [tag] : [];
  });
}

/**
 * The `Emoji` tag of a reaction sent from here: `:blob:` with our image, or for another
 * server's `:blob@host:`, `:blob:` with that server's image (as Misskey sends it).
 */
export async function outgoingReactionEmoji(
  deps: Pick<Deps, "db" | "config">,
  key: string,
): Promise<OutgoingEmoji | undefined> {
  const ref = customReactionKey(key);
  if (ref == null) return undefined;
  const row = (await lookup(deps, [ref])).get(refKey(ref.shortcode, ref.host));
  return row && outgoing(deps, row, row.shortcode);
}

/**
 * The key under which a custom emoji reaction from another server is kept here.
 *
 * The emoji is the reacting actor's server's (Misskey's and Mastodon's rule), except when its
 * image is one we know by URL: ours (a remote user reacting with our emoji, through the room's
 * relay) or another server's we have met (our own user's reaction with it, relayed back).
 * @param shortcode The reaction's shortcode, without colons.
 * @param actorHost The reacting actor's host; null for one of our users (a relayed reaction).
 * @param imageUrl The image URL of the reaction's `Emoji` tag, when it has one.
 */
export async function incomingReactionKey(
  deps: Pick<Deps, "db" | "config">,
  shortcode: string,
  actorHost: string | null,
  imageUrl: string | undefined,
): Promise<string> {
  if (imageUrl) {
    const ours = `${deps.config.origin}/media/emoji/`;
    if (imageUrl.startsWith(ours)) {
      const file = imageUrl.slice(ours.length);
      const found = await lookup(deps, [{ shortcode, host: null }]);
      const row = found.get(refKey(shortcode, null));
      if (row && row.file === file) return `:${row.shortcode}:`;
    }
    const known = await remoteEmojiByUrl(deps, imageUrl);
    if (known?.host != null && known.shortcode.toLowerCase() === shortcode.toLowerCase()) {
      return `:${known.shortcode}@${known.host}:`;
    }
  }
  return actorHost == null ? `:${shortcode}:` : `:${shortcode}@${actorHost}:`;
}
