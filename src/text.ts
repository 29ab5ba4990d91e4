/**
 * Cleaning of short user-chosen text (display names, nicknames, room names, file names): what
 * is shown to other people must not hide, reorder or fake characters.
 */

/** Control characters (C0, DEL, C1) and line/paragraph separators. */
const controls = /[\p{Cc}\u2028\u2029]/gu;
/**
 * Characters that show nothing yet change what is shown: every format character (category
 * Cf), which takes in the bidi embeddings, overrides, isolates and marks (U+202A–U+202E,
 * U+2066–U+2069, U+200E, U+200F, U+061C) that make "exe.png" of "gnp.exe", zero-width spaces,
 * word joiners, the BOM and tag characters; and the Hangul fillers, letters that render blank.
 * Zero-width joiners and non-joiners are left to {@link joinerRuns}. Tag characters are kept
 * inside an emoji flag (🏴, tags, cancel tag: the flags of England, Scotland and Wales), the
 * only sequence that shows them.
 */
const invisibles =
  /(\u{1F3F4}[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{1,8}\u{E007F})|[[\p{Cf}\u115F\u1160\u3164\uFFA0]--[\u200C\u200D]]/gv;
/**
 * Zero-width joiners and non-joiners are kept only alone between two visible characters
 * (emoji sequences, Persian and Indic scripts need them); a run of them, or one at an edge, is
 * removed.
 */
const joinerRuns = /(^|\s)[\u200C\u200D]+|[\u200C\u200D]+(?=\s|$)|[\u200C\u200D]{2,}/g;

/**
 * Removes what shows nothing but changes what is shown: format characters (bidi controls
 * among them, see {@link invisibles}), blank fillers, and stray zero-width joiners. Controls
 * and line breaks are left to the caller, which either removes them or makes them spaces.
 */
export function removeInvisibles(value: string): string {
  return value.replace(invisibles, (_, flag: string | undefined) => flag ?? "").replace(joinerRuns, "$1");
}

/**
 * Cleans a one-line name: NFC, control characters made spaces, invisible and format
 * characters (bidi controls among them) removed, zero-width joiner runs removed, whitespace
 * collapsed and trimmed.
 */
export function cleanName(value: string): string {
  return removeInvisibles(value.toWellFormed().normalize("NFC").replace(controls, " ")).replace(/\s+/gu, " ").trim();
}

/**
 * Text from elsewhere (another server's document) made storable: PostgreSQL takes no NUL
 * character, and an unpaired surrogate is no character at all (it becomes U+FFFD).
 */
export function storableText(value: string): string {
  return value.toWellFormed().replaceAll("\u0000", "");
}

/** The first `max` code points of a string: a cut never leaves half a surrogate pair. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = 0;
  let count = 0;
  for (const char of value) {
    if (++count > max) break;
    end += char.length;
  }
  return value.slice(0, end);
}

/**
 * Cleans multi-line text such as a bio: like {@link cleanName} but keeps line breaks
 * (at most two in a row) and trims each line's end.
 */
export function cleanText(value: string): string {
  return value
    .normalize("NFC")
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => cleanName(line))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Length in Unicode code points (what people count), not UTF-16 units. */
export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}
