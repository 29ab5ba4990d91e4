/**
 * The composer's completion lists (people after `@`, emoji after `:`). The text area keeps the
 * focus and points at the active option, after the ARIA combobox pattern: ↑ and ↓ move, Enter
 * or Tab take the option, Escape closes the list until the text changes.
 */
import type { Signal } from "@preact/signals";
import type { ComponentChildren, TargetedKeyboardEvent } from "preact";

/** An open list: what it offers and what taking an option does. */
export interface Completion<T> {
  /** The listbox's id; option n is `<id>-<n>`. */
  readonly id: string;
  readonly label: string;
  readonly items: readonly T[];
  key(item: T): string;
  render(item: T): ComponentChildren;
  choose(item: T): void;
}

/**
 * Handles a key pressed in the text area while a list is open.
 *
 * @returns Whether the key belonged to the list (and was handled).
 */
export function completionKey<T>(
  e: TargetedKeyboardEvent<HTMLTextAreaElement>,
  list: Completion<T>,
  active: Signal<number>,
  dismiss: () => void,
): boolean {
  const count = list.items.length;
  if (count === 0) return false;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    active.value = (active.value + (e.key === "ArrowDown" ? 1 : count - 1)) % count;
  } else if (e.key === "Enter" || e.key === "Tab") {
    const item = list.items[Math.min(active.value, count - 1)];
    if (item !== undefined) list.choose(item);
  } else if (e.key === "Escape") {
    dismiss();
  } else return false;
  e.preventDefault();
  return true;
}

/** The ARIA attributes that tie the text area to the open list, if any. */
export function comboboxAttributes(
  list: { readonly id: string; readonly items: readonly unknown[] } | null,
  active: number,
) {
  return {
    "aria-controls": list?.id,
    "aria-autocomplete": "list" as const,
    "aria-activedescendant": list ? `${list.id}-${Math.min(active, list.items.length - 1)}` : undefined,
  };
}

export function CompletionList<T>(props: { list: Completion<T>; active: number }) {
  const { list } = props;
  const active = Math.min(props.active, list.items.length - 1);
  return (
    <div class="suggestions" id={list.id} role="listbox" aria-label={list.label}>
      {list.items.map((item, i) => (
        <div
          key={list.key(item)}
          id={`${list.id}-${i}`}
          role="option"
          tabIndex={-1}
          aria-selected={i === active}
          class={i === active ? "active" : ""}
          onMouseDown={(e) => {
            e.preventDefault();
            list.choose(item);
          }}
        >
          {list.render(item)}
        </div>
      ))}
    </div>
  );
}

/**
 * Replaces what `pattern` matches just before the caret (the word being completed) and puts
 * the caret after the replacement. The box is written and the caret placed at once: waiting
 * for the next render or frame would let fast typing land before the caret moves.
 */
export function replaceBeforeCaret(
  el: HTMLTextAreaElement,
  text: Signal<string>,
  caret: Signal<number>,
  pattern: RegExp,
  replacement: string,
): void {
  const before = text.value.slice(0, caret.value).replace(pattern, () => replacement);
  el.value = before + text.value.slice(caret.value);
  el.setSelectionRange(before.length, before.length);
  el.focus();
  text.value = el.value;
  caret.value = before.length;
}
