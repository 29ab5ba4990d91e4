/**
 * Search: the sidebar's box, and the page of results (`/search?q=`) with the filters as
 * buttons and the results as a listbox the arrow keys move through; opening one shows its
 * room with the history around the message.
 */
import { signal } from "@preact/signals";
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Name } from "./names.tsx";
import { Page } from "./pages.tsx";
import { RelativeTime } from "./relative-time.ts";
import { navigate } from "./router.ts";
import { jumpRequest } from "./store.ts";
import type { SearchResult } from "./types.ts";

/** The server's limit on the text (src/search/routes.ts). */
const maxLength = 500;
const pageSize = 20;

/** What the search box holds, the results of the last search, and where it stands. */
export const searchText = signal("");
const results = signal<SearchResult[] | null>(null);
const nextOffset = signal<number | null>(null);
const busy = signal(false);
const failure = signal<string | null>(null);
/** The result the arrow keys are on. */
const active = signal(0);
let asked = 0;

/** Filters offered as buttons: each adds its text to the box. */
const filters: { label: string; insert: string; hint: string }[] = [
  { label: "from:", insert: "from:", hint: "Messages by someone (a handle)" },
  { label: "in:", insert: "in:", hint: "In one room (its name)" },
  { label: "mentions:", insert: "mentions:", hint: "Mentioning someone" },
  { label: "has:image", insert: "has:image ", hint: "With an image" },
  { label: "has:file", insert: "has:file ", hint: "With any file" },
  { label: "has:link", insert: "has:link ", hint: "With a link" },
  { label: "before:", insert: "before:", hint: "Before a day (YYYY-MM-DD)" },
  { label: "after:", insert: "after:", hint: "After a day (YYYY-MM-DD)" },
];

/** Runs the search for `text` (the first page, or the next one with `more`). */
async function runSearch(text: string, more = false): Promise<void> {
  const q = text.trim();
  const ticket = ++asked;
  if (!q) {
    results.value = null;
    failure.value = null;
    return;
  }
  busy.value = true;
  try {
    const offset = more ? (nextOffset.peek() ?? 0) : 0;
    const page = await api<{ results: SearchResult[]; nextOffset: number | null }>(
      "GET",
      `/search?q=${encodeURIComponent(q)}&limit=${pageSize}&offset=${offset}`,
    );
    // An answer to an older question (the box changed meanwhile) is dropped.
    if (ticket !== asked) return;
    results.value = more ? [...(results.peek() ?? []), ...page.results] : page.results;
    nextOffset.value = page.nextOffset;
    failure.value = null;
    if (!more) active.value = 0;
  } catch (error) {
    if (ticket !== asked) return;
    failure.value =
      error instanceof ApiError && error.code === "validation_failed" ? describeRefusal(error) : describeError(error);
    if (!more) results.value = null;
  } finally {
    if (ticket === asked) busy.value = false;
  }
}

/** The terms the server refused, from the problem's details. */
function describeRefusal(error: ApiError): string {
  const details = Array.isArray(error.details) ? (error.details as { message?: unknown }[]) : [];
  const messages = details.map((d) => (typeof d.message === "string" ? d.message : "")).filter(Boolean);
  return messages.length > 0 ? `Not understood: ${messages.join("; ")}.` : error.message;
}

/** Opens a result: its room, scrolled to the message with the history around it. */
function openResult(result: SearchResult): void {
  jumpRequest.value = { roomId: result.room.id, messageId: result.message.id, seq: result.message.seq };
  navigate(`/rooms/${result.room.id}`);
}

/** The sidebar's search box: Enter opens the results page. */
export function SearchBox() {
  return (
    <search class="search-box">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const q = String(new FormData(e.currentTarget).get("q") ?? "").trim();
          if (!q) return;
          searchText.value = q;
          void runSearch(q);
          navigate(`/search?q=${encodeURIComponent(q)}`);
        }}
      >
        <input
          type="search"
          name="q"
          maxLength={maxLength}
          placeholder="Search messages"
          aria-label="Search messages"
          autoComplete="off"
          spellcheck={false}
        />
      </form>
    </search>
  );
}

/** A snippet with its matches in `<mark>`: text nodes only, whatever the message says. */
function Snippet(props: { text: string; highlights: [number, number][] }) {
  const parts = [];
  let at = 0;
  for (const [start, end] of props.highlights) {
    if (start < at || end > props.text.length) continue;
    if (start > at) parts.push(props.text.slice(at, start));
    parts.push(<mark key={start}>{props.text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(props.text.slice(at));
  return (
    <span class="search-snippet" dir="auto">
      {parts}
    </span>
  );
}

export function SearchPage() {
  const input = useRef<HTMLInputElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const list = results.value;

  // The address holds the query, so a reload or a shared link shows the same results.
  useEffect(() => {
    const q = new URLSearchParams(location.search).get("q") ?? "";
    if (q !== searchText.peek() || results.peek() == null) {
      searchText.value = q;
      void runSearch(q);
    }
    // After the page's heading took the focus (the parent's effect runs after this one).
    requestAnimationFrame(() => input.current?.focus());
  }, []);

  // The sidebar's box may ask again while this page is open.
  useEffect(() => {
    if (input.current && input.current.value !== searchText.value) input.current.value = searchText.value;
  }, [searchText.value]);

  function changed(text: string, now = false) {
    searchText.value = text;
    clearTimeout(timer.current);
    history.replaceState(null, "", text.trim() ? `/search?q=${encodeURIComponent(text.trim())}` : "/search");
    timer.current = setTimeout(() => void runSearch(text), now ? 0 : 300);
  }

  function addFilter(text: string) {
    const el = input.current;
    if (!el) return;
    const value = el.value.trim();
    el.value = value ? `${value} ${text}` : text;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
    if (text.endsWith(" ")) changed(el.value, true);
  }

  /** ↑/↓ move through the results, Enter opens the one selected (or searches at once). */
  function onKeyDown(e: TargetedKeyboardEvent<HTMLInputElement>) {
    const count = list?.length ?? 0;
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && count > 0) {
      e.preventDefault();
      active.value = (active.peek() + (e.key === "ArrowDown" ? 1 : count - 1)) % count;
      document.getElementById(`result-${active.peek()}`)?.scrollIntoView({ block: "nearest" });
    } else if (e.key === "Enter") {
      e.preventDefault();
      const chosen = list?.[active.peek()];
      if (chosen && !busy.peek() && searchText.peek().trim() === e.currentTarget.value.trim()) openResult(chosen);
      else changed(e.currentTarget.value, true);
    } else if (e.key === "Escape" && e.currentTarget.value) {
      e.preventDefault();
      e.currentTarget.value = "";
      changed("", true);
    }
  }

  return (
    <Page title="Search">
      <search class="search-form">
        <input
          ref={input}
          type="search"
          class="search-input"
          maxLength={maxLength}
          placeholder='Words, "a phrase", filters'
          aria-label="Search messages"
          aria-describedby="search-hint"
          aria-controls="search-results"
          aria-autocomplete="list"
          aria-activedescendant={list && list.length > 0 ? `result-${active.value}` : undefined}
          autoComplete="off"
          spellcheck={false}
          onInput={(e) => changed(e.currentTarget.value)}
          onKeyDown={onKeyDown}
        />
        <fieldset class="search-filters">
          <legend class="visually-hidden">Add a filter</legend>
          {filters.map((f) => (
            <button key={f.label} type="button" class="chip" title={f.hint} onClick={() => addFilter(f.insert)}>
              {f.label}
            </button>
          ))}
        </fieldset>
        <p id="search-hint" class="muted small">
          ↑ and ↓ choose a result, Enter opens it. Words must all match; word* matches the start of words.
        </p>
      </search>
      <p class="muted" role="status">
        {busy.value
          ? "Searching…"
          : failure.value
            ? ""
            : list == null
              ? ""
              : list.length === 0
                ? "Nothing found."
                : `${list.length}${nextOffset.value != null ? "+" : ""} result${list.length === 1 ? "" : "s"}`}
      </p>
      {failure.value ? (
        <p class="form-error" role="alert">
          {failure.value}
        </p>
      ) : null}
      {/* The box keeps the focus and points at the active result (ARIA combobox pattern). */}
      <div id="search-results" class="search-results" role="listbox" aria-label="Results">
        {(list ?? []).map((r, i) => (
          <div
            key={r.message.id}
            id={`result-${i}`}
            role="option"
            tabIndex={-1}
            aria-selected={i === active.value}
            class={i === active.value ? "search-result active" : "search-result"}
            onMouseDown={(e) => {
              e.preventDefault();
              openResult(r);
            }}
            onMouseMove={() => {
              active.value = i;
            }}
          >
            <span class="search-meta">
              <Name class="search-room" text={r.room.name} /> ·{" "}
              <Name text={r.message.author?.displayName || r.message.author?.handle || "Someone"} /> ·{" "}
              <RelativeTime class="muted small" at={r.message.createdAt} />
            </span>
            <Snippet text={r.snippet.text} highlights={r.snippet.highlights} />
          </div>
        ))}
      </div>
      {nextOffset.value != null && list && list.length > 0 ? (
        <button type="button" disabled={busy.value} onClick={() => void runSearch(searchText.peek(), true)}>
          More results
        </button>
      ) : null}
    </Page>
  );
}
