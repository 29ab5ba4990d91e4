/**
 * The plain text of message HTML, ours or another server's: for reply quotes, notifications,
 * search snippets and the text of remote messages.
 * @module
 */
import { Parser } from "htmlparser2";

/** Elements whose content is never text to show. */
const hiddenElements = new Set(["script", "style", "template", "noscript", "title", "head"]);
/** Elements that separate words; everything else (`<em>`, `<a>`…) is inline. */
const breakingElements = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "br",
  "dd",
  "div",
  "dl",
  "dt",
  "figcaption",
  "figure",
  "footer",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "td",
  "th",
  "tr",
  "ul",
]);

/**
 * The text of some HTML (ours or a remote server's): tags removed, entities decoded, the
 * content of scripts and styles dropped, block boundaries and line breaks turned into spaces,
 * whitespace collapsed and trimmed.
 *
 * @param html The HTML.
 * @param hideSpoilers Whether a spoiler (`<span class="spoiler">`) shows as `[spoiler]`
 *   rather than its text, as in reply quotes and notifications.
 * @returns One line of plain text.
 */
export function plainText(html: string, hideSpoilers = false): string {
  let text = "";
  let hidden = 0;
  // For each open span, whether it is a spoiler being hidden.
  const spans: boolean[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === "span") {
          const spoiler = hideSpoilers && /(?:^|\s)spoiler(?:\s|$)/.test(attribs.class ?? "");
          if (spoiler && hidden === 0) text += "[spoiler]";
          spans.push(spoiler);
          if (spoiler) hidden++;
        } else if (hiddenElements.has(name)) hidden++;
        else if (breakingElements.has(name)) text += " ";
      },
      ontext(data) {
        if (hidden === 0) text += data;
      },
      onclosetag(name) {
        if (name === "span") {
          if (spans.pop()) hidden = Math.max(0, hidden - 1);
        } else if (hiddenElements.has(name)) hidden = Math.max(0, hidden - 1);
        else if (breakingElements.has(name)) text += " ";
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return text.replace(/\s+/gu, " ").trim();
}
