/**
 * Cleaning of short user-chosen text (display names, nicknames, room names): what is shown to
 * other people must not hide, reorder or fake characters.
 */

/** Bidirectional formatting: embeddings, overrides, isolates and their terminators. */
const bidiControls = /[\u202A-\u202E\u2066-\u2069]/g;
/** Control characters (C0, DEL, C1) and line/paragraph separators. */
const controls = /[\p{Cc}\u2028\u2029]/gu;
/** Invisible characters that are never needed in a name. */
const invisibles = /[\u200B\u200E\u200F\u2060-\u2064\uFEFF\u180E\u115F\u1160\u3164\uFFA0]/g;
/**
 * Zero-width joiners and non-joiners are kept only alone between two visible characters
 * (emoji sequences, Persian and Indic scripts need them); a run of them, or one at an edge, is
 * removed.
 */
const joinerRuns = /(^|\s)[\u200C\u200D]+|[\u200C\u200D]+(?=\s|$)|[\u200C\u200D]{2,}/g;

/**
 * Cleans a one-line name: NFC, control characters and bidi overrides removed, invisible
 * characters removed, zero-width joiner runs removed, whitespace collapsed and trimmed.
 */
export function cleanName(value: string): string {
  return value
    .normalize("NFC")
    .replace(controls, " ")
    .replace(bidiControls, "")
    .replace(invisibles, "")
    .replace(joinerRuns, "$1")
    .replace(/\s+/gu, " ")
    .trim();
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
