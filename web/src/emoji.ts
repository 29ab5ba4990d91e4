/**
 * The emoji the client offers, loaded when first wanted, and what it remembers of the choices:
 * the skin tone (per browser) and the recently used emoji (per account, so that two people
 * sharing a browser do not see each other's).
 */
import { signal } from "@preact/signals";
import { customCategory, customEmoji, customEntries, loadCustomEmoji, onCustomEmojiChange } from "./custom-emoji.ts";
import { EmojiIndex, type SkinTone } from "./emoji-index.ts";

/** The full set, once its chunk has arrived: until then only the recent emoji can be shown. */
export const emojiIndex = signal<EmojiIndex | null>(null);

let loading: Promise<EmojiIndex> | null = null;

/**
 * Loads the emoji data (its own chunk, see `emoji-data.ts`) once; later calls share the load.
 * A failed load (offline, or a new deployment that removed the chunk) is tried again by the
 * next call. A second source of emoji (a server's custom emoji) joins the index here.
 */
export function loadEmoji(): Promise<EmojiIndex> {
  loading ??= Promise.all([import("./emoji-data.ts"), loadCustomEmoji()]).then(
    ([data]) => {
      // The server's emoji first, in a "Custom" tab; the index is made again when they change.
      const build = () => {
        const custom = customEntries(customEmoji.peek() ?? []);
        const index = new EmojiIndex(
          [...custom, ...data.unicodeEmoji()],
          [...(custom.length ? [customCategory] : []), ...data.unicodeCategories],
        );
        emojiIndex.value = index;
        return index;
      };
      onCustomEmojiChange(build);
      return build();
    },
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

/** Where choices are kept: the page's localStorage, absent when the browser refuses it. */
export type ChoiceStorage = Pick<Storage, "getItem" | "setItem">;

function localStore(): ChoiceStorage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

const toneKey = "fedchat.emojiSkinTone";
const recentPrefix = "fedchat.recentEmoji.";
/** Two rows of the picker. */
export const recentLimit = 16;
/** Longer than any emoji or `:shortcode:`: anything longer in storage is not ours. */
const maxChoiceLength = 80;

/** The skin tone last chosen in this browser, 0 (none) at first. */
export function skinTone(storage = localStore()): SkinTone {
  try {
    const value = Number(storage?.getItem(toneKey));
    return Number.isInteger(value) && value >= 0 && value <= 5 ? (value as SkinTone) : 0;
  } catch {
    return 0;
  }
}

export function setSkinTone(tone: SkinTone, storage = localStore()): void {
  try {
    storage?.setItem(toneKey, String(tone));
  } catch {
    // storage full or refused: the tone lasts until the page closes
  }
}

/**
 * An account's most recently used emoji (the text each wrote: an emoji with its skin tone, or
 * a `:shortcode:`), newest first.
 *
 * @param account The user's id; without one there is nothing to show.
 */
export function recentEmoji(account: string | undefined, storage = localStore()): string[] {
  if (!account) return [];
  try {
    const value = JSON.parse(storage?.getItem(recentPrefix + account) ?? "[]") as unknown;
    if (!Array.isArray(value)) return [];
    return value
      .filter((v): v is string => typeof v === "string" && v !== "" && v.length <= maxChoiceLength)
      .slice(0, recentLimit);
  } catch {
    return [];
  }
}

/** Puts an emoji first in the account's recent emoji. */
export function rememberEmoji(account: string | undefined, text: string, storage = localStore()): void {
  if (!account || text === "" || text.length > maxChoiceLength) return;
  const list = [text, ...recentEmoji(account, storage).filter((e) => e !== text)].slice(0, recentLimit);
  try {
    storage?.setItem(recentPrefix + account, JSON.stringify(list));
  } catch {
    // storage full or refused: nothing to remember
  }
}
