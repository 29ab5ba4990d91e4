/**
 * Syntax highlighting of code blocks, loaded lazily (rich-content.ts imports it on the first
 * block with a language): highlight.js's core and a few common languages.
 *
 * highlight.js hands back HTML. It is never put into the page as it is: it is parsed in an
 * inert document (DOMParser runs no script and loads nothing), and the block is rebuilt from
 * its text and its `<span class="hljs-…">` elements only. If the rebuilt text differs from the
 * code in any way, the block stays as it was.
 */
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

for (const [name, language] of Object.entries({
  bash,
  c,
  cpp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  python,
  rust,
  sql,
  typescript,
  xml,
  yaml,
})) {
  hljs.registerLanguage(name, language);
}

/** The classes highlight.js gives its spans: `hljs-keyword`, and sub-scopes such as `function_`. */
const tokenClass = /^(?:hljs-[a-z_-]{1,40}|[a-z]{1,20}_{1,3})$/;

/** Larger blocks are left plain: highlighting them would hold up the page. */
const maxCode = 20_000;

/**
 * Highlights a `<code class="language-x">` element in place, if x is a language we know.
 *
 * @param code The element; its content must be text only (as the server renders it).
 * @returns Whether it was highlighted.
 */
export function highlightCode(code: HTMLElement): boolean {
  const language = /(?:^|\s)language-([a-z0-9+#-]{1,20})(?:\s|$)/i.exec(code.className)?.[1];
  const source = code.textContent ?? "";
  if (language == null || hljs.getLanguage(language) == null || source.length > maxCode) return false;
  if (code.children.length > 0) return false;
  const html = hljs.highlight(source, { language, ignoreIllegals: true }).value;
  const parsed = new DOMParser().parseFromString(`<!doctype html><body><code>${html}</code></body>`, "text/html");
  const root = parsed.body.firstElementChild;
  if (root == null) return false;
  const rebuilt = document.createDocumentFragment();
  copyTokens(root, rebuilt);
  // Anything lost or gained (a change in the library, say) and the plain block stays.
  if (rebuilt.textContent !== source) return false;
  code.replaceChildren(rebuilt);
  code.classList.add("hljs");
  return true;
}

/** Copies text and allowed spans (with allowed classes only) from a parsed tree into ours. */
function copyTokens(from: Node, to: Node): void {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.appendChild(document.createTextNode(node.textContent ?? ""));
    } else if (node instanceof Element && node.tagName === "SPAN") {
      const span = document.createElement("span");
      for (const name of node.classList) if (tokenClass.test(name)) span.classList.add(name);
      copyTokens(node, span);
      to.appendChild(span);
    } else {
      // Not expected from highlight.js: its text only.
      to.appendChild(document.createTextNode(node.textContent ?? ""));
    }
  }
}
