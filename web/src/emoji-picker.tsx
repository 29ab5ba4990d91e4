/**
 * The emoji picker, for reactions and for the composer: category tabs, search by name and
 * shortcode, a skin tone, and the account's recent emoji. Keyboard: the search box has the
 * focus, Enter takes the first result and ↓ enters the grid; in the grid the arrow keys move
 * (↑ from the first row returns to the search), Home and End go along a row, and Enter or Space
 * choose; the tabs move with ← and →. The grid is a table of buttons, eight to a row.
 */
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { emojiIndex, loadEmoji, recentEmoji, rememberEmoji, setSkinTone, skinTone } from "./emoji.ts";
import { type EmojiEntry, type EmojiIndex, emojiText, type SkinTone, skinTones } from "./emoji-index.ts";
import { me } from "./store.ts";
import { Dialog } from "./ui.tsx";

/** Emoji per row: ↑ and ↓ move by this many. */
const columns = 8;

const recentTab = { key: "recent", label: "Recently used", icon: "🕘" };

/** One button of the grid: what it writes, and how it is named and shown. */
interface Cell {
  readonly key: string;
  readonly text: string;
  readonly label: string;
  readonly title: string;
  readonly url?: string;
}

function cellOf(entry: EmojiEntry, text: string): Cell {
  const codes = entry.shortcodes.map((code) => `:${code}:`).join(" ");
  return {
    key: text,
    text,
    label: entry.label,
    title: codes ? `${entry.label} ${codes}` : entry.label,
    ...(entry.kind === "image" ? { url: entry.url } : {}),
  };
}

/** A remembered emoji: named from the index once it is loaded, by itself until then. */
function recentCell(text: string, index: EmojiIndex | null): Cell {
  const entry = index?.byText(text);
  return entry ? cellOf(entry, text) : { key: text, text, label: text, title: text };
}

/** Whether the text is one emoji (typed or pasted into the search), which can be chosen as it is. */
function isOneEmoji(text: string): boolean {
  return /^\p{Extended_Pictographic}/u.test(text) && [...new Intl.Segmenter().segment(text)].length === 1;
}

export function EmojiPicker(props: {
  title: string;
  onPick(text: string): void;
  onClose(): void;
  /** Where the focus goes when the picker closes, if not back to where it was. */
  returnFocus?: () => HTMLElement | null | undefined;
}) {
  const account = me.value?.id;
  const index = emojiIndex.value;
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState("");
  const [tone, setTone] = useState<SkinTone>(() => skinTone());
  const recent = useMemo(() => recentEmoji(account), [account]);
  const [tab, setTab] = useState(recent.length > 0 ? recentTab.key : "smileys-emotion");
  const [active, setActive] = useState(0);
  const search = useRef<HTMLInputElement>(null);
  const grid = useRef<HTMLTableElement>(null);

  const load = () => {
    setFailed(false);
    loadEmoji().catch(() => setFailed(true));
  };
  useEffect(load, []);

  const q = query.trim();
  const tabs = [...(recent.length > 0 ? [recentTab] : []), ...(index?.categories ?? [])];
  const shown = tabs.find((t) => t.key === tab);
  const cells = useMemo(() => {
    if (q) {
      const found = (index?.search(q) ?? []).map((entry) => cellOf(entry, emojiText(entry, tone)));
      return isOneEmoji(q) && !found.some((c) => c.text === q)
        ? [{ key: q, text: q, label: q, title: q }, ...found]
        : found;
    }
    if (tab === recentTab.key) return recent.map((text) => recentCell(text, index));
    return (index?.inCategory(tab) ?? []).map((entry) => cellOf(entry, emojiText(entry, tone)));
  }, [index, q, tab, tone, recent]);
  const rows: Cell[][] = [];
  for (let i = 0; i < cells.length; i += columns) rows.push(cells.slice(i, i + columns));

  const pick = (cell: Cell) => {
    rememberEmoji(account, cell.text);
    props.onPick(cell.text);
  };
  const focusCell = (i: number) => {
    setActive(i);
    grid.current?.querySelectorAll<HTMLButtonElement>("button.emoji")[i]?.focus();
  };
  const choose = (key: string, focus = false) => {
    setTab(key);
    setQuery("");
    setActive(0);
    if (focus) requestAnimationFrame(() => document.getElementById(`emoji-tab-${key}`)?.focus());
  };

  // Enter typed before the data has arrived takes the first result once it is in.
  const [enterPending, setEnterPending] = useState(false);
  useEffect(() => {
    const first = cells[0];
    if (enterPending && index && first) pick(first);
  }, [enterPending, index]);

  function onSearchKey(e: TargetedKeyboardEvent<HTMLInputElement>) {
    const first = cells[0];
    if (e.key === "Enter" && q && (first || !index)) {
      e.preventDefault();
      if (first) pick(first);
      else setEnterPending(true);
    } else if (e.key === "ArrowDown" && first) {
      e.preventDefault();
      focusCell(0);
    }
  }

  function onTabKey(e: TargetedKeyboardEvent<HTMLButtonElement>, at: number) {
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    const next = to === undefined ? undefined : tabs[(to + tabs.length) % tabs.length];
    if (!next) return;
    e.preventDefault();
    choose(next.key, true);
  }

  function onGridKey(e: TargetedKeyboardEvent<HTMLButtonElement>) {
    const last = cells.length - 1;
    const rowStart = active - (active % columns);
    if (e.key === "ArrowUp" && active < columns) {
      e.preventDefault();
      search.current?.focus();
      return;
    }
    const to = {
      ArrowRight: active + 1,
      ArrowLeft: active - 1,
      ArrowDown: active + columns,
      ArrowUp: active - columns,
      Home: e.ctrlKey ? 0 : rowStart,
      End: e.ctrlKey ? last : rowStart + columns - 1,
    }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    focusCell(Math.max(0, Math.min(last, to)));
  }

  const panelLabel = q ? "Search results" : (shown?.label ?? "Emoji");
  return (
    <Dialog title={props.title} onClose={props.onClose} returnFocus={props.returnFocus}>
      <div class="emoji-picker-head">
        <input
          ref={search}
          type="search"
          class="emoji-search"
          placeholder="Name or :shortcode:"
          aria-label="Search emoji"
          aria-controls="emoji-panel"
          value={query}
          autoFocus
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setActive(0);
            setEnterPending(false);
          }}
          onKeyDown={onSearchKey}
        />
        <select
          class="skin-tone"
          aria-label="Skin tone"
          value={String(tone)}
          onChange={(e) => {
            const chosen = Number(e.currentTarget.value) as SkinTone;
            setTone(chosen);
            setSkinTone(chosen);
          }}
        >
          {skinTones.map((t) => (
            <option key={t.tone} value={String(t.tone)}>
              {t.swatch} {t.label}
            </option>
          ))}
        </select>
      </div>
      <div class="tabs emoji-tabs" role="tablist" aria-label="Emoji categories">
        {tabs.map((t, at) => (
          <button
            key={t.key}
            type="button"
            role="tab"
            id={`emoji-tab-${t.key}`}
            aria-selected={!q && tab === t.key}
            aria-controls="emoji-panel"
            aria-label={t.label}
            title={t.label}
            tabIndex={tab === t.key ? 0 : -1}
            onClick={() => choose(t.key)}
            onKeyDown={(e) => onTabKey(e, at)}
          >
            {t.icon}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="emoji-panel" aria-label={panelLabel} class="emoji-panel">
        <h3 class="section-title">{q ? "Results" : panelLabel}</h3>
        {failed && !index ? (
          <p class="form-error" role="alert">
            The emoji could not be loaded.{" "}
            <button type="button" class="link" onClick={load}>
              Try again
            </button>
          </p>
        ) : null}
        {!index && !failed && (q || tab !== recentTab.key) ? <p class="loading">Loading emoji…</p> : null}
        <div class="emoji-scroll">
          <table class="emoji-grid" aria-label={panelLabel} ref={grid}>
            <colgroup>
              {Array.from({ length: columns }, (_, c) => (
                <col key={c} />
              ))}
            </colgroup>
            <tbody>
              {rows.map((row, r) => (
                <tr key={row[0]?.key ?? r}>
                  {row.map((cell, c) => (
                    <td key={cell.key}>
                      <button
                        type="button"
                        class="emoji"
                        tabIndex={r * columns + c === active ? 0 : -1}
                        aria-label={cell.label}
                        title={cell.title}
                        onClick={() => pick(cell)}
                        onFocus={() => setActive(r * columns + c)}
                        onKeyDown={onGridKey}
                      >
                        {cell.url ? <img src={cell.url} alt="" class="emoji-image" /> : cell.text}
                      </button>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {q && index && cells.length === 0 ? <p class="muted">No emoji match “{q}”.</p> : null}
        <p class="visually-hidden" role="status">
          {q && index ? `${cells.length} emoji found` : ""}
        </p>
      </div>
    </Dialog>
  );
}
