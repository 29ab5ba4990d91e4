/** The formatting toolbar's text edits, outside the browser. */
import { describe, expect, it } from "vitest";
import { type Edit, type FormatKind, formatShortcut, formatText } from "../../web/src/format-text.ts";

/** Writes a text with its selection marked by `[` and `]` (or a caret `|`). */
function marked(text: string): Edit {
  if (text.includes("|") && !text.includes("[")) {
    const at = text.indexOf("|");
    return { value: text.slice(0, at) + text.slice(at + 1), start: at, end: at };
  }
  const start = text.indexOf("[");
  const end = text.indexOf("]") - 1;
  return { value: text.replace("[", "").replace("]", ""), start, end };
}

function show({ value, start, end }: Edit): string {
  return start === end
    ? `${value.slice(0, start)}|${value.slice(start)}`
    : `${value.slice(0, start)}[${value.slice(start, end)}]${value.slice(end)}`;
}

const format = (text: string, kind: FormatKind) => show(formatText(marked(text), kind));

describe("formatText", () => {
  it("wraps the selection in inline markers and keeps it selected", () => {
    expect(format("a [word] b", "bold")).toBe("a **[word]** b");
    expect(format("a [word] b", "italic")).toBe("a *[word]* b");
    expect(format("a [word] b", "strike")).toBe("a ~~[word]~~ b");
    expect(format("a [word] b", "code")).toBe("a `[word]` b");
    expect(format("a [word] b", "spoiler")).toBe("a ||[word]|| b");
  });

  it("puts an empty pair at the caret, with the caret inside", () => {
    expect(format("a |b", "bold")).toBe("a **|**b");
    expect(format("|", "spoiler")).toBe("|||||");
  });

  it("keeps spaces at the ends of the selection outside the markers", () => {
    expect(format("a[ word ]b", "bold")).toBe("a **[word]** b");
  });

  it("unwraps what is already wrapped, inside or outside the selection", () => {
    expect(format("a **[word]** b", "bold")).toBe("a [word] b");
    expect(format("a [**word**] b", "bold")).toBe("a [word] b");
    // Italic inside bold is added, not mistaken for the bold's markers.
    expect(format("**[word]**", "italic")).toBe("***[word]***");
  });

  it("makes code of several lines a block on lines of its own", () => {
    expect(format("see [a\nb] now", "code")).toBe("see \n```\n[a\nb]\n```\n now");
    expect(format("[x = 1]", "codeblock")).toBe("```\n[x = 1]\n```");
  });

  it("makes links, selecting what is left to type", () => {
    expect(format("[site]", "link")).toBe("[site]([https://])");
    expect(format("[https://example.com]", "link")).toBe("[|](https://example.com)");
  });

  it("prefixes the selected lines, or takes the prefix away", () => {
    expect(format("[one\ntwo]", "list")).toBe("[- one\n- two]");
    expect(format("x\no[n]e\ny", "quote")).toBe("x\n[> one]\ny");
    expect(format("[> one\n> two]", "quote")).toBe("[one\ntwo]");
    expect(format("|", "quote")).toBe("> |");
  });
});

describe("formatShortcut", () => {
  const key = (k: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey" | "altKey", boolean>> = {}) => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    shiftKey: false,
    altKey: false,
    ...mods,
  });

  it("reads Ctrl (Cmd on a Mac) shortcuts", () => {
    expect(formatShortcut(key("b", { ctrlKey: true }), false)).toBe("bold");
    expect(formatShortcut(key("I", { ctrlKey: true }), false)).toBe("italic");
    expect(formatShortcut(key("X", { ctrlKey: true, shiftKey: true }), false)).toBe("strike");
    expect(formatShortcut(key("S", { ctrlKey: true, shiftKey: true }), false)).toBe("spoiler");
    expect(formatShortcut(key("b", { metaKey: true }), true)).toBe("bold");
  });

  it("ignores other keys and other modifiers", () => {
    expect(formatShortcut(key("b"), false)).toBeNull();
    expect(formatShortcut(key("b", { metaKey: true }), false)).toBeNull();
    expect(formatShortcut(key("b", { ctrlKey: true }), true)).toBeNull();
    expect(formatShortcut(key("b", { ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(formatShortcut(key("x", { ctrlKey: true }), false)).toBeNull();
    expect(formatShortcut(key("v", { ctrlKey: true }), false)).toBeNull();
  });
});
