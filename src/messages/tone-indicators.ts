/**
 * Tone indicators: `/j`, `/s`, `/srs` and the rest of the common set, written after a clause to
 * say how it is meant. The renderer marks each one as `<abbr class="tone" title="joking">/j</abbr>`
 * so that every client (and every server that keeps `title`) can show the meaning; the browser
 * client makes it focusable and gives it an accessible name (web/src/rich-content.ts).
 *
 * The set is the common one collected at https://toneindicators.carrd.co (the list most often
 * linked from profiles and community rules), with its meanings; `/st` (sad) and `/th` (threat)
 * were asked for in issue 18. Case does not matter (`/J` is `/j`).
 * @module
 */
import type { MarkdownIt, Token } from "markdown-it";

/** Each indicator (lowercase, with its slash) and its meaning. */
export const toneIndicators: ReadonlyMap<string, string> = new Map([
  ["/j", "joking"],
  ["/hj", "half-joking"],
  ["/s", "sarcastic"],
  ["/sarc", "sarcastic"],
  ["/srs", "serious"],
  ["/nsrs", "not serious"],
  ["/lh", "light-hearted"],
  ["/g", "genuine"],
  ["/gen", "genuine"],
  ["/genq", "genuine question"],
  ["/pos", "positive"],
  ["/pc", "positive connotation"],
  ["/neg", "negative"],
  ["/nc", "negative connotation"],
  ["/neu", "neutral"],
  ["/p", "platonic"],
  ["/r", "romantic"],
  ["/t", "teasing"],
  ["/nm", "not mad"],
  ["/lu", "a little upset"],
  ["/nbh", "nobody here"],
  ["/nay", "not at you"],
  ["/ay", "at you"],
  ["/nf", "not forced"],
  ["/rh", "rhetorical"],
  ["/rt", "rhetorical"],
  ["/hyp", "hyperbole"],
  ["/ex", "exaggeration"],
  ["/li", "literally"],
  ["/m", "metaphorically"],
  ["/c", "copypasta"],
  ["/l", "lyrics"],
  ["/ly", "lyrics"],
  ["/lyr", "lyrics"],
  ["/ref", "reference"],
  ["/ij", "inside joke"],
  ["/q", "quote"],
  ["/f", "fake"],
  ["/th", "threat"],
  ["/cb", "clickbait"],
  ["/ot", "off topic"],
  ["/info", "information"],
  ["/st", "sad"],
]);

/** One indicator: the longest names first, and not followed by more of a word or a path. */
const tone = `/(?:${[...toneIndicators.keys()]
  .map((k) => k.slice(1))
  .sort((a, b) => b.length - a.length)
  .join("|")})(?![\\p{L}\\p{N}_/])`;
/**
 * The most indicators in a row that are marked: bounding the run keeps the look-ahead from
 * rescanning a long run of them at every position (quadratic on a message of thousands).
 */
const maxRun = 6;
/** What may end a clause after the indicators. */
const clauseEnd = `[.,;:!?)\\]}…"'”’]`;
/**
 * An indicator after a space, an opening bracket or the start of a text run, followed by more
 * indicators and then punctuation or (in {@link atTextEnd}) the end of the run.
 */
const beforePunctuation = new RegExp(`(?<=^|[\\s(])${tone}(?=(?:\\s+${tone}){0,${maxRun - 1}}\\s*${clauseEnd})`, "giu");
const atTextEnd = new RegExp(`(?<=^|[\\s(])${tone}(?=(?:\\s+${tone}){0,${maxRun - 1}}\\s*(?:${clauseEnd}|$))`, "giu");

/** Tokens after which a text run starts a clause, and before which it ends one. */
const breaks = new Set(["softbreak", "hardbreak"]);

/** Whether a neighbouring inline token (or none) bounds a clause. */
function bounds(token: Token | undefined, side: "before" | "after"): boolean {
  if (token == null || breaks.has(token.type)) return true;
  // `**lol /j**`, `||lol /j||`: the end of formatting ends the run; `(**x**) /j` starts one.
  return side === "after" ? token.nesting === -1 : token.nesting === 1;
}

/**
 * A markdown-it plugin that marks tone indicators in text runs: never in code (a separate
 * token), link text or addresses (linkified before this rule runs), and only where a clause
 * ends: before punctuation, a line break, the end of formatting or the end of the message. It
 * runs before `text_join`, so an escaped slash (`\/j`) stays a slash.
 */
export function toneIndicatorPlugin(md: MarkdownIt): void {
  md.core.ruler.before("text_join", "tone_indicators", (state) => {
    for (const block of state.tokens) {
      if (block.type !== "inline" || block.children == null) continue;
      const children = block.children;
      const out: Token[] = [];
      let linkLevel = 0;
      for (let i = 0; i < children.length; i++) {
        const token = children[i] as Token;
        if (token.type === "link_open") linkLevel++;
        else if (token.type === "link_close") linkLevel--;
        if (token.type !== "text" || linkLevel > 0 || !token.content.includes("/")) {
          out.push(token);
          continue;
        }
        const pattern = bounds(children[i + 1], "after") ? atTextEnd : beforePunctuation;
        const startsClause = bounds(children[i - 1], "before");
        let last = 0;
        for (const match of token.content.matchAll(pattern)) {
          // A run that continues something else (`x**y**/j`) has no space before its start.
          if (match.index === 0 && !startsClause) continue;
          const text = new state.Token("text", "", 0);
          text.content = token.content.slice(last, match.index);
          const mark = new state.Token("tone", "abbr", 0);
          mark.content = match[0];
          mark.meta = { meaning: toneIndicators.get(match[0].toLowerCase()) };
          out.push(text, mark);
          last = match.index + match[0].length;
        }
        if (last === 0) {
          out.push(token);
          continue;
        }
        const rest = new state.Token("text", "", 0);
        rest.content = token.content.slice(last);
        out.push(rest);
      }
      block.children = out;
    }
  });
  md.renderer.rules.tone = (tokens, idx) => {
    const token = tokens[idx] as Token;
    return `<abbr class="tone" title="${md.utils.escapeHtml(String(token.meta?.meaning))}">${md.utils.escapeHtml(token.content)}</abbr>`;
  };
}

/**
 * Puts tone indicators in sanitised HTML (ours or another server's) into the one shape we
 * render: an `<abbr class="tone">` around exactly a known indicator gets our meaning as its
 * title (a remote server's title is not trusted to say what `/j` means); any other `abbr`
 * loses its tags and keeps its text. Safe on sanitize-html's output only, where every tag is
 * balanced and attributes are quoted and escaped.
 *
 * @param html Sanitised HTML whose `abbr` tags carry at most `class="tone"` and a title.
 * @returns The HTML with only canonical tone indicators left as `abbr`.
 */
export function normaliseToneIndicators(html: string): string {
  return html.replace(
    /<abbr class="tone" title="[^"]*">([^<]*)<\/abbr>|<abbr\b[^>]*>|<\/abbr>/g,
    (_tag, text: string | undefined) => {
      if (text == null) return "";
      const meaning = toneIndicators.get(text.toLowerCase());
      return meaning == null ? text : `<abbr class="tone" title="${meaning}">${text}</abbr>`;
    },
  );
}
