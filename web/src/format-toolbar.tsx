/**
 * The composer's formatting toolbar and shortcuts: each button (or Ctrl/Cmd+key) wraps the
 * selection in Markdown (format-text.ts). The toolbar is one tab stop, its buttons reached with
 * the arrow keys (the ARIA toolbar pattern); on a phone it hides behind a toggle.
 */
import type { Signal } from "@preact/signals";
import { useSignal } from "@preact/signals";
import type { ComponentChild, TargetedKeyboardEvent } from "preact";
import { type FormatKind, formatShortcut, formatText } from "./format-text.ts";

const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
/** How the platform writes the shortcuts' modifier: `⌘` on a Mac, `Ctrl+` elsewhere. */
export const mod = mac ? "⌘" : "Ctrl+";

/** A chain link, drawn (no emoji font needed). */
const linkGlyph = (
  <svg
    class="icon"
    width="14"
    height="14"
    viewBox="0 0 24 24"
    fill="none"
    stroke="currentColor"
    stroke-width="2"
    aria-hidden="true"
  >
    <path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7" />
  </svg>
);

/** The buttons: format, accessible name, what it shows, its shortcut. */
const buttons: { kind: FormatKind; label: string; glyph: ComponentChild; keys?: string }[] = [
  { kind: "bold", label: "Bold", glyph: "B", keys: `${mod}B` },
  { kind: "italic", label: "Italic", glyph: "I", keys: `${mod}I` },
  { kind: "strike", label: "Strikethrough", glyph: "S", keys: `${mod}Shift+X` },
  { kind: "code", label: "Code", glyph: "</>", keys: `${mod}E` },
  { kind: "codeblock", label: "Code block", glyph: "{ }" },
  { kind: "link", label: "Link", glyph: linkGlyph, keys: `${mod}K` },
  { kind: "spoiler", label: "Spoiler", glyph: "▒", keys: `${mod}Shift+S` },
  { kind: "quote", label: "Quote", glyph: "❝" },
  { kind: "list", label: "List", glyph: "•" },
];

/** `aria-keyshortcuts` wants `Control+B` / `Meta+B`. */
const ariaKeys = (keys: string) => keys.replace(mod, mac ? "Meta+" : "Control+");

/**
 * Formats the textarea's selection, through the editing commands when the browser has them
 * (so that Ctrl+Z undoes it), and tells the composer as typing would (an `input` event).
 */
export function applyFormat(el: HTMLTextAreaElement, kind: FormatKind): void {
  const before = el.value;
  const next = formatText({ value: before, start: el.selectionStart, end: el.selectionEnd }, kind);
  // Replace only what changed, so that undo restores exactly that.
  let from = 0;
  while (from < before.length && from < next.value.length && before[from] === next.value[from]) from++;
  let tail = 0;
  while (
    tail < before.length - from &&
    tail < next.value.length - from &&
    before[before.length - 1 - tail] === next.value[next.value.length - 1 - tail]
  ) {
    tail++;
  }
  el.focus();
  el.setSelectionRange(from, before.length - tail);
  const inserted = next.value.slice(from, next.value.length - tail);
  // execCommand is deprecated but still the only way into a textarea's undo history.
  const done = inserted === "" ? document.execCommand("delete") : document.execCommand("insertText", false, inserted);
  if (!done || el.value !== next.value) {
    el.value = next.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  el.setSelectionRange(next.start, next.end);
}

/**
 * Applies the format of a shortcut, if the key press is one.
 *
 * @returns Whether it was (and the key press is then handled).
 */
export function formatKey(e: TargetedKeyboardEvent<HTMLTextAreaElement>): boolean {
  const kind = formatShortcut(e, mac);
  if (kind == null) return false;
  // Ctrl+K makes a link of a selection; with nothing selected it opens the quick switcher.
  if (kind === "link" && e.currentTarget.selectionStart === e.currentTarget.selectionEnd) return false;
  e.preventDefault();
  applyFormat(e.currentTarget, kind);
  return true;
}

/** The toggle that shows the toolbar on a narrow screen (hidden by CSS on a wide one). */
export function FormatToggle(props: { open: Signal<boolean> }) {
  return (
    <button
      type="button"
      class="icon-button format-toggle"
      aria-label="Formatting"
      title="Formatting"
      aria-expanded={props.open.value}
      aria-controls="format-toolbar"
      onClick={() => {
        props.open.value = !props.open.value;
      }}
    >
      <span aria-hidden="true" class="format-toggle-glyph">
        Aa
      </span>
    </button>
  );
}

/** The toolbar. `target` gives the textarea to format. */
export function FormatToolbar(props: { target: () => HTMLTextAreaElement | null; open: Signal<boolean> }) {
  const current = useSignal(0);
  function onKeyDown(e: TargetedKeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = {
      ArrowRight: current.value + 1,
      ArrowLeft: current.value - 1,
      Home: 0,
      End: buttons.length - 1,
    };
    const to = moves[e.key];
    if (to == null) return;
    e.preventDefault();
    current.value = (to + buttons.length) % buttons.length;
    e.currentTarget.querySelectorAll<HTMLButtonElement>("button")[current.value]?.focus();
  }
  return (
    <div
      id="format-toolbar"
      class={`format-toolbar${props.open.value ? " open" : ""}`}
      role="toolbar"
      aria-label="Formatting"
      onKeyDown={onKeyDown}
    >
      {buttons.map((b, i) => (
        <button
          key={b.kind}
          type="button"
          class={`format-button format-${b.kind}`}
          aria-label={b.label}
          title={b.keys ? `${b.label} (${b.keys})` : b.label}
          aria-keyshortcuts={b.keys ? ariaKeys(b.keys) : undefined}
          tabIndex={i === current.value ? 0 : -1}
          onFocus={() => {
            current.value = i;
          }}
          // Keep the textarea's focus (and selection) on a click.
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => {
            current.value = i;
            const el = props.target();
            if (el) applyFormat(el, b.kind);
          }}
        >
          <span aria-hidden="true">{b.glyph}</span>
        </button>
      ))}
    </div>
  );
}
