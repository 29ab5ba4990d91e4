/**
 * The picker's emoji: the data model, whatever the source, and the search over it. Unicode's
 * set comes from emojibase-data (`emoji-data.ts`); a second source, such as a server's custom
 * emoji, gives entries of kind `image` and categories of its own to the same index.
 */

/** A category of the picker: one tab. */
export interface EmojiCategory {
  readonly key: string;
  readonly label: string;
  /** The emoji the tab shows. */
  readonly icon: string;
}

interface EmojiCommon {
  /** Unique across sources: emojibase's hexcode for Unicode's emoji. */
  readonly id: string;
  /** Its name, as a screen reader says it ("thumbs up"). */
  readonly label: string;
  /** Shortcodes without colons (`+1`, `thumbsup`). */
  readonly shortcodes: readonly string[];
  /** More words to find it by ("yes", "approve"). */
  readonly keywords: readonly string[];
  /** The key of its {@link EmojiCategory}. */
  readonly category: string;
}

/** A Unicode emoji, in its fully-qualified form. */
export interface UnicodeEmoji extends EmojiCommon {
  readonly kind: "unicode";
  readonly unicode: string;
  /** With each skin tone, light to dark (the same tone for every person in it). */
  readonly skins?: readonly string[];
}

/** An emoji that is a picture: written and reacted with as its `:shortcode:`. */
export interface ImageEmoji extends EmojiCommon {
  readonly kind: "image";
  readonly url: string;
}

export type EmojiEntry = UnicodeEmoji | ImageEmoji;

/** 0 is no skin tone (the yellow default), 1 to 5 are Fitzpatrick types 1–2 to 6. */
export type SkinTone = 0 | 1 | 2 | 3 | 4 | 5;

/** The skin tones in the order of a `skins` list, with the names a chooser shows. */
export const skinTones: readonly { readonly tone: SkinTone; readonly label: string; readonly swatch: string }[] = [
  { tone: 0, label: "Default", swatch: "✋" },
  { tone: 1, label: "Light", swatch: "✋🏻" },
  { tone: 2, label: "Medium-light", swatch: "✋🏼" },
  { tone: 3, label: "Medium", swatch: "✋🏽" },
  { tone: 4, label: "Medium-dark", swatch: "✋🏾" },
  { tone: 5, label: "Dark", swatch: "✋🏿" },
];

/**
 * What choosing an emoji writes: the Unicode emoji (with the skin tone, when it has one), or
 * a picture's `:shortcode:`. A reaction's key is the same text.
 */
export function emojiText(entry: EmojiEntry, tone: SkinTone = 0): string {
  if (entry.kind === "image") return `:${entry.shortcodes[0] ?? entry.id}:`;
  return (tone > 0 ? entry.skins?.[tone - 1] : undefined) ?? entry.unicode;
}

/** A shortcode completion: the emoji and the shortcode that matched. */
export interface ShortcodeMatch {
  readonly entry: EmojiEntry;
  readonly shortcode: string;
}

/** How well an entry matches a query: lower is better; `none` is no match. */
const none = Number.POSITIVE_INFINITY;

/**
 * Every emoji of the picker, searchable by name, keyword and shortcode. Built once when the
 * data arrives; each search is a pass over a few thousand precomputed word lists.
 */
export class EmojiIndex {
  readonly #entries: readonly EmojiEntry[];
  readonly #words: readonly (readonly string[])[];
  readonly #byCategory = new Map<string, EmojiEntry[]>();
  readonly #byText = new Map<string, EmojiEntry>();
  /** The tabs, in order. */
  readonly categories: readonly EmojiCategory[];

  /**
   * @param entries The emoji, in the order the picker shows them (and ranks equal matches).
   * @param categories The tabs, in order; entries of a category not listed are not shown in tabs.
   */
  constructor(entries: readonly EmojiEntry[], categories: readonly EmojiCategory[]) {
    this.categories = categories;
    this.#entries = entries;
    this.#words = entries.map((entry) => [
      ...new Set(
        [entry.label, ...entry.keywords, ...entry.shortcodes].flatMap((text) => text.toLowerCase().split(/[\s_:,.-]+/)),
      ),
    ]);
    for (const entry of entries) {
      const list = this.#byCategory.get(entry.category) ?? [];
      list.push(entry);
      this.#byCategory.set(entry.category, list);
      for (const text of entry.kind === "unicode" ? [entry.unicode, ...(entry.skins ?? [])] : [emojiText(entry)]) {
        if (!this.#byText.has(text)) this.#byText.set(text, entry);
      }
    }
  }

  /** The emoji of one category, in order. */
  inCategory(key: string): readonly EmojiEntry[] {
    return this.#byCategory.get(key) ?? [];
  }

  /** The entry that writes this text (an emoji with or without its skin tone, a `:shortcode:`). */
  byText(text: string): EmojiEntry | undefined {
    return this.#byText.get(text);
  }

  /**
   * Emoji matching what someone typed, best first: the shortcode itself (`fire`, `:+1:`), then
   * shortcodes that start with it, then names that start with it, then entries where every
   * word typed starts a word of the name, keywords or shortcodes (`thumb up`, `cat face`).
   * Equal matches keep the picker's order.
   *
   * @param query Any text; surrounding colons are ignored, case does not matter.
   * @param limit At most this many results.
   */
  search(query: string, limit = 250): EmojiEntry[] {
    const q = query.trim().toLowerCase().replace(/^:|:$/g, "");
    if (!q) return [];
    const terms = q.split(/[\s_:,.-]+/).filter(Boolean);
    const ranked: { entry: EmojiEntry; rank: number; at: number }[] = [];
    this.#entries.forEach((entry, at) => {
      const rank = this.#rank(entry, this.#words[at] ?? [], q, terms);
      if (rank !== none) ranked.push({ entry, rank, at });
    });
    ranked.sort((a, b) => a.rank - b.rank || a.at - b.at);
    return ranked.slice(0, limit).map((r) => r.entry);
  }

  /**
   * Completions for a `:shortcode` being typed: entries with a shortcode that starts with the
   * prefix, the exact one first, then shorter shortcodes first, then the picker's order. Each
   * entry appears once, with the best of its shortcodes.
   *
   * @param prefix What follows the colon, at least one character.
   * @param limit At most this many.
   */
  complete(prefix: string, limit = 8): ShortcodeMatch[] {
    const p = prefix.toLowerCase();
    if (!p) return [];
    const matches: (ShortcodeMatch & { at: number })[] = [];
    this.#entries.forEach((entry, at) => {
      const shortcode = entry.shortcodes
        .filter((code) => code.toLowerCase().startsWith(p))
        .sort((a, b) => a.length - b.length)[0];
      if (shortcode !== undefined) matches.push({ entry, shortcode, at });
    });
    matches.sort((a, b) => a.shortcode.length - b.shortcode.length || a.at - b.at);
    return matches.slice(0, limit).map(({ entry, shortcode }) => ({ entry, shortcode }));
  }

  #rank(entry: EmojiEntry, words: readonly string[], q: string, terms: readonly string[]): number {
    const codes = entry.shortcodes.map((code) => code.toLowerCase());
    if (codes.includes(q) || (entry.kind === "unicode" && entry.unicode === q)) return 0;
    if (codes.some((code) => code.startsWith(q))) return 1;
    if (entry.label.toLowerCase().startsWith(q)) return 2;
    if (terms.every((term) => words.some((word) => word.startsWith(term)))) return 3;
    return none;
  }
}
