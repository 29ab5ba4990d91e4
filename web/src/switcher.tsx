/**
 * The quick switcher (Ctrl+K, or the sidebar's button): a dialog to jump to any room, direct
 * conversation or contact by a fuzzy match of its name; unread rooms first, then by match.
 * Up / Down choose, Enter goes, Escape closes and gives focus back.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { Name, plain } from "./names.tsx";
import { openDirect } from "./pages.tsx";
import { RoomAvatar } from "./room-face.tsx";
import { isUnread, roomOrder } from "./room-keys.ts";
import { navigate } from "./router.ts";
import { attempt, contacts, loadContacts, sortedRooms } from "./store.ts";
import type { Actor, Room } from "./types.ts";
import { Avatar, Dialog } from "./ui.tsx";

type Entry = { key: string; name: string; detail: string } & (
  | { kind: "room"; room: Room }
  | { kind: "contact"; actor: Actor }
);

/** Lower case without accents, so `e` finds `é`. */
function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/**
 * How well `query` matches `text` as a subsequence: letters in a row and at the start of words
 * count more, a match at the very start most. Null when it does not match.
 */
export function fuzzyScore(query: string, text: string): number | null {
  const q = fold(query).replace(/\s+/g, "");
  if (q === "") return 0;
  const t = fold(text);
  let score = t.startsWith(q) ? 20 : t.includes(q) ? 10 : 0;
  let from = 0;
  let last = -2;
  for (const ch of q) {
    const at = t.indexOf(ch, from);
    if (at < 0) return null;
    score += 1 + (at === last + 1 ? 3 : 0) + (at === 0 || /[\s\-_.@#]/.test(t[at - 1] ?? "") ? 4 : 0);
    last = at;
    from = at + 1;
  }
  return score - t.length / 100;
}

function entries(list: readonly Room[], people: readonly Actor[]): Entry[] {
  const rooms: Entry[] = roomOrder(list).map((room) => ({
    key: room.id,
    kind: "room",
    room,
    name: room.name,
    detail: room.direct ? "Direct message" : room.remote ? (room.handle.split("@").pop() ?? "") : "Room",
  }));
  // A contact with a conversation of two already is reached by that conversation.
  const talked = new Set(list.filter((r) => r.direct && r.others?.length === 1).map((r) => r.others?.[0]?.id));
  const others: Entry[] = people
    .filter((a) => !talked.has(a.id))
    .map((actor) => ({
      key: `contact:${actor.id}`,
      kind: "contact",
      actor,
      name: actor.displayName || actor.handle,
      detail: `Contact · ${actor.handle}`,
    }));
  return [...rooms, ...others];
}

/** The matches for a query: unread rooms first, then the best matches, then the list's order. */
function ranked(all: readonly Entry[], query: string): Entry[] {
  return all
    .map((entry, index) => {
      const score = Math.max(
        fuzzyScore(query, entry.name) ?? Number.NEGATIVE_INFINITY,
        (fuzzyScore(query, entry.kind === "room" ? entry.room.handle : entry.actor.handle) ?? -Infinity) - 5,
      );
      const unread = entry.kind === "room" && isUnread(entry.room) ? 1 : 0;
      return { entry, index, score, unread };
    })
    .filter((m) => m.score > Number.NEGATIVE_INFINITY)
    .sort((a, b) => b.unread - a.unread || b.score - a.score || a.index - b.index)
    .slice(0, 50)
    .map((m) => m.entry);
}

/** The switcher's dialog; `onClose` ends it (after a jump too). */
export function QuickSwitcher(props: { onClose(): void }) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  useEffect(() => {
    if (contacts.peek() == null) void loadContacts();
  }, []);
  const list = sortedRooms.value;
  const people = contacts.value?.contacts.map((c) => c.actor) ?? [];
  const all = useMemo(() => entries(list, people), [list, contacts.value]);
  const matches = useMemo(() => ranked(all, query), [all, query]);
  const current = Math.min(active, Math.max(matches.length - 1, 0));

  function choose(entry: Entry | undefined) {
    if (entry == null) return;
    props.onClose();
    if (entry.kind === "room") navigate(`/rooms/${entry.room.id}`);
    else void attempt(() => openDirect([entry.actor.handle]));
  }

  return (
    <Dialog title="Jump to" onClose={props.onClose}>
      <div class="switcher">
        <input
          type="text"
          class="switcher-input"
          role="combobox"
          aria-label="Room, conversation or contact"
          aria-expanded="true"
          aria-controls="switcher-list"
          aria-autocomplete="list"
          aria-activedescendant={matches.length > 0 ? `switcher-${current}` : undefined}
          placeholder="Type a name…"
          autoComplete="off"
          spellcheck={false}
          autoFocus
          value={query}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const n = matches.length;
              if (n > 0) setActive((current + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
            } else if (e.key === "Enter") {
              e.preventDefault();
              choose(matches[current]);
            }
          }}
        />
        <div id="switcher-list" class="switcher-list" role="listbox" aria-label="Matches">
          {matches.map((entry, i) => {
            const unread = entry.kind === "room" && isUnread(entry.room);
            return (
              <div
                key={entry.key}
                id={`switcher-${i}`}
                role="option"
                tabIndex={-1}
                aria-selected={i === current}
                class={`switcher-item${i === current ? " active" : ""}${unread ? " has-unread" : ""}`}
                onMouseMove={() => setActive(i)}
                onMouseDown={(e) => {
                  // Keeps the focus in the box until the jump.
                  e.preventDefault();
                  choose(entry);
                }}
              >
                {entry.kind === "room" ? (
                  <RoomAvatar room={entry.room} size="s" />
                ) : (
                  <Avatar
                    id={entry.actor.id}
                    name={plain(entry.name)}
                    url={entry.actor.avatarUrl}
                    size="s"
                    color={entry.actor.color}
                  />
                )}
                <span class="switcher-name">
                  <Name text={entry.name} />
                  <span class="muted small switcher-detail">
                    {" "}
                    <Name text={entry.detail} />
                  </span>
                </span>
                {unread && entry.kind === "room" ? (
                  <span class={entry.room.mentions > 0 ? "badge badge-mention" : "badge"}>
                    {entry.room.mentions > 0 ? `@${entry.room.mentions}` : entry.room.unread}
                    <span class="visually-hidden"> unread</span>
                  </span>
                ) : null}
              </div>
            );
          })}
        </div>
        {matches.length === 0 ? <p class="muted small">Nothing by that name.</p> : null}
        <p class="muted small switcher-hint">↑ ↓ to choose, Enter to go, Esc to close.</p>
      </div>
    </Dialog>
  );
}
