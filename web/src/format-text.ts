/**
 * What the formatting toolbar and its shortcuts do to the composer's text: wrap the selection
 * in Markdown (or unwrap it when it is wrapped already), or prefix the selected lines. Pure, so
 * that it can be tested without a browser; format-toolbar.tsx applies it to the textarea.
 */

/** The formats of the toolbar. */
export type FormatKind = "bold" | "italic" | "strike" | "code" | "codeblock" | "link" | "spoiler" | "quote" | "list";

/** A text and its selection (`start` <= `end`, offsets in UTF-16 code units). */
export interface Edit {
  value: string;
  start: number;
  end: number;
}

/** The markers that go around a selection, by format. */
const inlineMarkers = {
  bold: "**",
  // `*`, not `_`: it also works inside a word (`un*believ*able`).
  italic: "*",
  strike: "~~",
  code: "`",
  spoiler: "||",
} as const;

/** The prefix of each selected line, by format. */
const linePrefixes = { quote: "> ", list: "- " } as const;

/**
 * Formats the selection of a text.
 *
 * @param edit The text and its selection.
 * @param kind The format.
 * @returns The new text, with the formatted text (or the place to type it) selected.
 */
export function formatText(edit: Edit, kind: FormatKind): Edit {
  switch (kind) {
    case "code":
      // Several lines of code are a block.
      return edit.value.slice(edit.start, edit.end).includes("\n") ? codeBlock(edit) : wrap(edit, "`");
    case "codeblock":
      return codeBlock(edit);
    case "link":
      return link(edit);
    case "quote":
    case "list":
      return prefixLines(edit, linePrefixes[kind]);
    default:
      return wrap(edit, inlineMarkers[kind]);
  }
}

/** Wraps the selection in a marker, or takes the marker away when it is there already. */
function wrap({ value, start, end }: Edit, marker: string): Edit {
  const m = marker.length;
  // The markers just outside the selection: `**|bold|**`.
  if (
    start >= m &&
    value.slice(start - m, start) === marker &&
    value.slice(end, end + m) === marker &&
    !(marker === "*" && value.slice(start - 2, start) === "**" && value.slice(end, end + 2) === "**")
  ) {
    return {
      value: value.slice(0, start - m) + value.slice(start, end) + value.slice(end + m),
      start: start - m,
      end: end - m,
    };
  }
  const selected = value.slice(start, end);
  // The markers inside it: `|**bold**|`.
  if (selected.length >= 2 * m + 1 && selected.startsWith(marker) && selected.endsWith(marker)) {
    const inner = selected.slice(m, -m);
    return { value: value.slice(0, start) + inner + value.slice(end), start, end: start + inner.length };
  }
  // Spaces at either end of the selection (a double-click takes the one after a word) stay
  // outside: `** bold**` would not be bold.
  const lead = selected.length - selected.trimStart().length;
  const trail = selected.trimStart().length - selected.trim().length;
  const from = start + lead;
  const to = end - trail;
  const inner = value.slice(from, to);
  return {
    value: value.slice(0, from) + marker + inner + marker + value.slice(to),
    start: from + m,
    end: from + m + inner.length,
  };
}

/** Puts the selection in a fenced code block of its own lines. */
function codeBlock({ value, start, end }: Edit): Edit {
  const before = start > 0 && value[start - 1] !== "\n" ? "\n" : "";
  const after = end < value.length && value[end] !== "\n" ? "\n" : "";
  const inner = value.slice(start, end);
  const open = `${before}\`\`\`\n`;
  return {
    value: `${value.slice(0, start)}${open}${inner}\n\`\`\`${after}${value.slice(end)}`,
    start: start + open.length,
    end: start + open.length + inner.length,
  };
}

/** `[text](https://)` with the address selected, or `[](address)` with the caret in the brackets. */
function link({ value, start, end }: Edit): Edit {
  const selected = value.slice(start, end);
  if (/^(?:https?:\/\/|mailto:)\S+$/i.test(selected.trim())) {
    return {
      value: `${value.slice(0, start)}[](${selected.trim()})${value.slice(end)}`,
      start: start + 1,
      end: start + 1,
    };
  }
  const text = `[${selected}](`;
  const address = "https://";
  return {
    value: `${value.slice(0, start)}${text}${address})${value.slice(end)}`,
    start: start + text.length,
    end: start + text.length + address.length,
  };
}

/** Prefixes every line the selection touches, or takes the prefix away if all have it. */
function prefixLines({ value, start, end }: Edit, prefix: string): Edit {
  const from = value.lastIndexOf("\n", start - 1) + 1;
  const next = value.indexOf("\n", end > start && value[end - 1] === "\n" ? end - 1 : end);
  const to = next < 0 ? value.length : next;
  const lines = value.slice(from, to).split("\n");
  const all = lines.every((line) => line.startsWith(prefix));
  const changed = lines.map((line) => (all ? line.slice(prefix.length) : prefix + line)).join("\n");
  const result = value.slice(0, from) + changed + value.slice(to);
  // A caret stays a caret, after the prefix; a selection covers the lines.
  if (start === end) {
    const caret = Math.max(from, start + (all ? -prefix.length : prefix.length));
    return { value: result, start: caret, end: caret };
  }
  return { value: result, start: from, end: from + changed.length };
}

/**
 * The format a key press asks for: Ctrl (Cmd on a Mac) with B bold, I italic, E code,
 * Shift+X strike, Shift+S spoiler, K link.
 *
 * @param e The key press.
 * @param mac Whether the platform is a Mac (Cmd rather than Ctrl).
 * @returns The format, or `null` for any other key.
 */
export function formatShortcut(
  e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">,
  mac: boolean,
): FormatKind | null {
  if ((mac ? !e.metaKey || e.ctrlKey : !e.ctrlKey || e.metaKey) || e.altKey) return null;
  const key = e.key.toLowerCase();
  if (e.shiftKey) return key === "x" ? "strike" : key === "s" ? "spoiler" : null;
  return key === "b" ? "bold" : key === "i" ? "italic" : key === "e" ? "code" : key === "k" ? "link" : null;
}
