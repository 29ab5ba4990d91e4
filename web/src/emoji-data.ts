/**
 * Unicode's full emoji set (Emoji 17.0, English names) from emojibase-data, with emojibase's
 * own shortcodes. About 400 KB (85 KB gzipped) as built, once `web/vite.config.ts` has dropped
 * what is not read here, so it is a chunk of its own: only `loadEmoji()` in `emoji.ts` imports
 * it, the first time a picker opens or a `:shortcode` is typed.
 *
 * Shortcodes: emojibase's set rather than GitHub's or CLDR's. It names every emoji of the set
 * (GitHub's lacks the newest), and it keeps the names people type most as aliases (`+1`,
 * `thumbsup`, `tada`, `joy`, `smile`, `fire`, `heart`).
 */
import compact from "emojibase-data/en/compact.json" with { type: "json" };
import shortcodeData from "emojibase-data/en/shortcodes/emojibase.json" with { type: "json" };
import type { EmojiCategory, UnicodeEmoji } from "./emoji-index.ts";

/** emojibase's groups by number, with the emoji each tab shows. Group 2 (skin tones, hair) holds parts of emoji, not emoji to pick. */
const groups: Record<number, EmojiCategory> = {
  0: { key: "smileys-emotion", label: "Smileys & emotion", icon: "😀" },
  1: { key: "people-body", label: "People & body", icon: "👋" },
  3: { key: "animals-nature", label: "Animals & nature", icon: "🐻" },
  4: { key: "food-drink", label: "Food & drink", icon: "🍔" },
  5: { key: "travel-places", label: "Travel & places", icon: "✈️" },
  6: { key: "activities", label: "Activities", icon: "⚽" },
  7: { key: "objects", label: "Objects", icon: "💡" },
  8: { key: "symbols", label: "Symbols", icon: "🔣" },
  9: { key: "flags", label: "Flags", icon: "🏁" },
};

/** The categories, in emojibase's order. */
export const unicodeCategories: readonly EmojiCategory[] = Object.values(groups);

/** Shortcodes by emojibase hexcode: one, or several. */
const shortcodes: Readonly<Record<string, string | readonly string[]>> = shortcodeData;

/** Skin tone modifiers U+1F3FB (light) to U+1F3FF (dark). */
const firstModifier = 0x1f3fb;

/**
 * Unicode's test for a fully-qualified emoji, where the browser has it (the `v` flag: Chrome
 * 112, Firefox 116, Safari 17). Built at run time, so neither the bundler nor an older
 * browser's parser meets the flag.
 */
const rgiEmoji = (() => {
  const flags: string = "v";
  try {
    return new RegExp("^\\p{RGI_Emoji}$", flags);
  } catch {
    return undefined;
  }
})();

/**
 * The emoji as the server keys a reaction: emojibase writes some emoji that are emoji by
 * default with a needless U+FE0F (`👍️`), which Unicode's fully-qualified form has not. Without
 * the browser's test, or for an emoji newer than the browser knows, the text stays as it is
 * (the server still accepts it, and keys it the same way).
 */
export function qualified(unicode: string): string {
  if (!rgiEmoji || rgiEmoji.test(unicode)) return unicode;
  const bare = unicode.replaceAll("\uFE0F", "");
  return rgiEmoji.test(bare) ? bare : unicode;
}

/** The five forms where every person has the same tone, light to dark, or none. */
function uniformSkins(skins: readonly { unicode: string }[] | undefined): string[] | undefined {
  if (!skins) return undefined;
  const byTone: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  for (const skin of skins) {
    const tones = new Set(
      [...skin.unicode].map((ch) => (ch.codePointAt(0) ?? 0) - firstModifier).filter((t) => t >= 0 && t < 5),
    );
    const [tone] = tones;
    if (tones.size === 1 && tone !== undefined) byTone[tone] ??= qualified(skin.unicode);
  }
  return byTone.every((skin) => skin !== undefined) ? (byTone as string[]) : undefined;
}

/** Every emoji that has a category, in emojibase's order (Unicode's recommended one). */
export function unicodeEmoji(): UnicodeEmoji[] {
  return compact
    .filter((e) => e.group !== undefined && groups[e.group] !== undefined)
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
    .map((e) => {
      const codes = shortcodes[e.hexcode];
      const skins = uniformSkins(e.skins);
      return {
        kind: "unicode",
        id: e.hexcode,
        unicode: qualified(e.unicode),
        label: e.label,
        shortcodes: codes === undefined ? [] : typeof codes === "string" ? [codes] : codes,
        keywords: e.tags ?? [],
        category: (groups[e.group ?? -1] as EmojiCategory).key,
        ...(skins ? { skins } : {}),
      };
    });
}
