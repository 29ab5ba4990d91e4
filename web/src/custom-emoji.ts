/**
 * This server's custom emoji in the client: the list (`GET /api/v1/custom-emoji`, fetched
 * again when the stream says `emoji.updated`), as entries of the picker's "Custom" tab and of
 * `:shortcode:` completion, and the splitting of a text into its words and emoji images.
 */
import { signal } from "@preact/signals";
import type { EmojiCategory, ImageEmoji } from "./emoji-index.ts";

/** One of this server's emoji, as the API gives it. */
export interface CustomEmoji {
  readonly id: string;
  readonly shortcode: string;
  readonly url: string;
  readonly mediaType: string;
  readonly width: number | null;
  readonly height: number | null;
}

/** An emoji a text uses: its shortcode (without colons) and its image, served from our origin. */
export interface UsedEmoji {
  readonly shortcode: string;
  readonly url: string;
}

/** This server's emoji, once fetched (null until then). */
export const customEmoji = signal<readonly CustomEmoji[] | null>(null);

/** The picker's tab of this server's emoji. */
export const customCategory: EmojiCategory = { key: "custom", label: "Custom", icon: "⭐" };

let loading: Promise<readonly CustomEmoji[]> | null = null;
const listeners = new Set<() => void>();

/** Calls `listener` each time the list changes (the emoji index is rebuilt with it). */
export function onCustomEmojiChange(listener: () => void): void {
  listeners.add(listener);
}

/**
 * Fetches the list once (later calls share it); `again` fetches anew. The list is public, so
 * it needs no session; a failure leaves an empty list, tried again next time.
 */
export function loadCustomEmoji(again = false): Promise<readonly CustomEmoji[]> {
  if (loading && !again) return loading;
  loading = fetch("/api/v1/custom-emoji", { headers: { accept: "application/json" } })
    .then(async (res) => {
      if (!res.ok) throw new Error(`custom emoji: ${res.status}`);
      const list = ((await res.json()) as { emoji: CustomEmoji[] }).emoji;
      customEmoji.value = list;
      for (const listener of listeners) listener();
      return list;
    })
    .catch(() => {
      loading = null;
      return customEmoji.peek() ?? [];
    });
  return loading;
}

/** The stream said the server's emoji changed. */
export function customEmojiChanged(): void {
  if (loading) void loadCustomEmoji(true);
}

/** This server's emoji as entries of the picker's index. */
export function customEntries(list: readonly CustomEmoji[]): ImageEmoji[] {
  return list.map((emoji) => ({
    kind: "image",
    id: `custom:${emoji.shortcode}`,
    label: emoji.shortcode.replace(/_/g, " "),
    shortcodes: [emoji.shortcode],
    keywords: ["custom"],
    category: customCategory.key,
    url: emoji.url,
  }));
}

/** A piece of text: words as they are, or an emoji by its shortcode. */
export type TextPart = string | UsedEmoji;

/**
 * Splits a text at the `:shortcode:`s of the given emoji (case as written must match, as on
 * Mastodon); an unknown `:shortcode:` stays text.
 */
export function splitEmoji(text: string, emojis: readonly UsedEmoji[] | undefined): TextPart[] {
  if (!emojis || emojis.length === 0 || !text.includes(":")) return [text];
  const byCode = new Map(emojis.map((e) => [e.shortcode, e]));
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of text.matchAll(/:([a-zA-Z0-9_+@.-]{1,320}):/g)) {
    const emoji = byCode.get(match[1] as string);
    if (!emoji) continue;
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(emoji);
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/**
 * Whether a handle is of someone on this server (whose names use this server's emoji): its
 * host is the signed-in user's.
 */
export function isLocalHandle(handle: string | undefined, ownHandle: string | undefined): boolean {
  const host = handle?.split("@")[1];
  return host == null || host === ownHandle?.split("@")[1];
}
