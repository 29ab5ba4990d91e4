/**
 * Snippets of matching messages with the matches marked, as plain text and ranges rather than
 * HTML: `ts_headline` marks matches with two private-use characters that are removed from the
 * text before it runs, and the ranges are read off those marks. A client renders the text as
 * text nodes, so nothing a message says can become markup.
 */
import { type SQL, sql } from "drizzle-orm";

/** A passage of a message and where in it the query matched. */
export interface Snippet {
  readonly text: string;
  /** `[start, end)` offsets in UTF-16 code units, ascending and not overlapping. */
  readonly highlights: readonly (readonly [number, number])[];
}

const start = "\uE000";
const stop = "\uE001";

/**
 * The SQL of a headline of `content` for the tsquery `q`: one passage of 10 to 24 words
 * around the matches (a short message whole, rather than cut into fragments), matches
 * between the private-use marks that {@link parseHeadline} reads.
 */
export function highlightedSnippet(content: SQL, q: SQL, config: SQL): SQL {
  return sql`ts_headline(${config}, translate(${content}, ${start + stop}, ''), ${q},
    ${`StartSel=${start}, StopSel=${stop}, MaxWords=24, MinWords=10`})`;
}

/** Reads a headline made by {@link highlightedSnippet} into text and ranges. */
export function parseHeadline(headline: string): Snippet {
  let text = "";
  const highlights: [number, number][] = [];
  let open: number | null = null;
  for (const part of headline.split(/([\uE000\uE001])/u)) {
    if (part === start) open ??= text.length;
    else if (part === stop) {
      if (open != null && text.length > open) {
        const last = highlights.at(-1);
        // Adjacent marks (two words of a phrase) read as one range.
        if (last && last[1] === open) last[1] = text.length;
        else highlights.push([open, text.length]);
      }
      open = null;
    } else text += part;
  }
  return { text, highlights };
}
