/** A room's timeline: messages by day, the new-messages line, keyboard moves, and loading older history. */
import { useSignal } from "@preact/signals";
import type { JSX, TargetedKeyboardEvent } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import { EmojiPicker } from "./emoji-picker.tsx";
import { continuesGroup } from "./grouping.ts";
import { Icon } from "./icons.tsx";
import { loadMembershipChanges, MembershipItem, membershipLines } from "./membership-lines.tsx";
import { EditHistory, MessageItem, PendingItem, toggleReaction } from "./message.tsx";
import { isolate, lookalikesIn, Name, UserText } from "./names.tsx";
import { togglePin } from "./pins.tsx";
import { ReadReceipts, readersByMessage } from "./receipts.tsx";
import { atBottom, attempt, jumpRequest, markRead, me, type RoomState, say } from "./store.ts";
import { onMainTimeline, replyInThread, ThreadSummaryButton } from "./threads.tsx";
import type { Message, Room } from "./types.ts";
import { Confirm, dayLabel } from "./ui.tsx";

/** Anything with a value, as the room hands its reply and edit signals down. */
export type Sig<T> = { value: T; peek(): T };

export function Timeline(props: {
  room: Room;
  state: RoomState;
  replyTo: Sig<Message | null>;
  editing: Sig<Message | null>;
}) {
  const { room, state } = props;
  // The room's state holds thread replies too (one store); the timeline shows those also sent to it.
  const messages = state.messages.value.filter(onMainTimeline);
  const pending = state.pending.value.filter(onMainTimeline);
  const members = state.members.value;
  const looksAlike = lookalikesIn(members);
  const user = me.value;
  const scroller = useRef<HTMLElement>(null);
  const fromBottom = useRef(0);
  const firstId = useRef<string | undefined>(undefined);
  const stuck = useRef(true);
  const positioned = useRef(false);
  // The read position when the room was opened: the "new messages" line stays there.
  const [readMark] = useState(() => (room.unread > 0 ? room.lastReadSeq : Number.POSITIVE_INFINITY));
  const highlight = useSignal<string | null>(null);
  const [history, setHistory] = useState<Message | null>(null);
  const [deleting, setDeleting] = useState<Message | null>(null);
  const [picker, setPicker] = useState<Message | null>(null);

  const firstNew = messages.find((m) => m.seq > readMark && m.author?.id !== user?.id);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !state.loaded.peek()) return;
    if (!positioned.current) {
      positioned.current = true;
      const line = el.querySelector<HTMLElement>(".new-line");
      if (line && line.offsetTop < el.scrollHeight - el.clientHeight) {
        el.scrollTop = line.offsetTop - 40;
        stuck.current = false;
      } else el.scrollTop = el.scrollHeight;
    } else if (messages[0]?.id !== firstId.current && firstId.current !== undefined && !stuck.current) {
      // Older messages came in above: keep what the reader is looking at in place.
      el.scrollTop = el.scrollHeight - el.clientHeight - fromBottom.current;
    } else if (stuck.current) el.scrollTop = el.scrollHeight;
    firstId.current = messages[0]?.id;
    onScroll();
    if (el.scrollHeight <= el.clientHeight + 10 && !state.atStart.peek()) void state.loadOlder();
  }, [messages, pending, state.loaded.value]);

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    const distance = el.scrollHeight - el.clientHeight - el.scrollTop;
    fromBottom.current = distance;
    stuck.current = distance < 40;
    atBottom.value = stuck.current && state.atEnd.peek();
    if (el.scrollTop < 300) void state.loadOlder();
    if (distance < 300 && !state.atEnd.peek()) void state.loadNewer();
    const last = state.messages.peek().at(-1);
    if (stuck.current && state.atEnd.peek() && last && document.visibilityState === "visible") {
      markRead(room.id, last.seq);
    }
  }

  // A notification or a search result asked for a message of this room: go to it once the
  // history is in (with its number, the page around it is loaded first).
  useEffect(() => {
    const wanted = jumpRequest.value;
    if (!wanted || wanted.roomId !== room.id || !state.loaded.value) return;
    jumpRequest.value = null;
    requestAnimationFrame(() => void jumpTo(wanted.messageId, wanted.seq));
  }, [jumpRequest.value, state.loaded.value]);

  useEffect(() => void loadMembershipChanges(room.id), [room.id]);

  useEffect(() => {
    const visible = () => document.visibilityState === "visible" && onScroll();
    document.addEventListener("visibilitychange", visible);
    return () => document.removeEventListener("visibilitychange", visible);
  }, []);

  /** ↑ and ↓ move between messages; Home and End go to the first and last loaded. */
  function onKeyDown(e: TargetedKeyboardEvent<HTMLElement>) {
    if (!["ArrowUp", "ArrowDown", "Home", "End"].includes(e.key)) return;
    const target = e.target as Element;
    if (target.closest("button, input, textarea, select, a")) return;
    const items = [...(scroller.current?.querySelectorAll<HTMLElement>("li.message") ?? [])];
    if (items.length === 0) return;
    const current = target.closest("li.message");
    const at = current ? items.indexOf(current as HTMLElement) : items.length;
    const next =
      e.key === "Home"
        ? items[0]
        : e.key === "End"
          ? items.at(-1)
          : items[Math.max(0, Math.min(items.length - 1, at + (e.key === "ArrowUp" ? -1 : 1)))];
    if (!next) return;
    e.preventDefault();
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  async function jumpToLatest() {
    if (!state.atEnd.peek()) {
      // Away in older history: the newest page replaces it.
      stuck.current = true;
      state.reset();
      await state.load();
    }
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    stuck.current = true;
    document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
  }

  async function jumpTo(id: string, seq?: number) {
    if (seq != null) await state.loadAround(seq);
    for (let i = 0; i < 20 && !state.messages.peek().some((m) => m.id === id) && !state.atStart.peek(); i++) {
      await state.loadOlder();
    }
    const target = document.getElementById(`msg-${id}`);
    if (!target) return say("The original message is no longer here.", true);
    stuck.current = false;
    target.scrollIntoView({ block: "center" });
    target.focus();
    highlight.value = id;
    setTimeout(() => {
      if (highlight.peek() === id) highlight.value = null;
    }, 2000);
  }

  const readers = readersByMessage(messages, members, user?.id);
  const canPin = room.permissions.includes("pin");
  const pinnedIds = new Set(state.pins.value?.map((p) => p.message.id));
  const items: JSX.Element[] = [];
  let previous: Message | null = null;
  // Membership lines go between the messages by time; those before the loaded page wait for it.
  const lines = state.loaded.value ? (membershipLines.value[room.id] ?? []) : [];
  let line = messages[0] && !state.atStart.value ? lines.findIndex((l) => l.at >= (messages[0]?.createdAt ?? "")) : 0;
  if (line < 0) line = lines.length;
  for (const message of messages) {
    const day = new Date(message.createdAt).toDateString();
    // Lines of an earlier day go above this day's separator, the day's own below it.
    const due: JSX.Element[][] = [[], []];
    for (; line < lines.length && (lines[line]?.at ?? "") < message.createdAt; line++) {
      const l = lines[line] as (typeof lines)[number];
      due[new Date(l.at).toDateString() === day ? 1 : 0]?.push(<MembershipItem key={l.key} line={l} />);
    }
    items.push(...(due[0] ?? []));
    if (!previous || new Date(previous.createdAt).toDateString() !== day) {
      items.push(
        <li key={`day-${message.id}`} class="day-separator">
          <span>{dayLabel(message.createdAt)}</span>
        </li>,
      );
    }
    items.push(...(due[1] ?? []));
    if (message === firstNew) {
      items.push(
        <li key="new-line" class="new-line">
          <span>New messages</span>
        </li>,
      );
    }
    // A line between them (new messages, someone joined) starts a new group too.
    const continued = message !== firstNew && due.flat().length === 0 && continuesGroup(previous, message);
    items.push(
      <MessageItem
        key={message.id}
        message={message}
        room={room}
        members={members}
        looksAlike={looksAlike}
        continued={continued}
        mine={message.author?.id === user?.id}
        highlighted={highlight.value === message.id}
        onReply={() => {
          props.editing.value = null;
          props.replyTo.value = message;
          document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
        }}
        onEdit={() => {
          props.replyTo.value = null;
          props.editing.value = message;
          document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
        }}
        onDelete={() => setDeleting(message)}
        onHistory={() => setHistory(message)}
        onPick={() => setPicker(message)}
        pinned={canPin ? pinnedIds.has(message.id) : undefined}
        onPin={(on) => void togglePin(room, message.id, on)}
        onJump={jumpTo}
        onThread={() => replyInThread(room.id, message)}
        footer={<ThreadSummaryButton message={message} roomId={room.id} />}
      />,
    );
    const seenBy = readers.get(message.id);
    if (seenBy) items.push(<ReadReceipts key={`read-${message.id}`} readers={seenBy} />);
    previous = message;
  }
  if (state.atEnd.value) for (const l of lines.slice(line)) items.push(<MembershipItem key={l.key} line={l} />);
  for (const p of pending) items.push(<PendingItem key={p.txnId} pending={p} />);

  return (
    <div class="timeline-wrap">
      <section
        class="timeline"
        ref={scroller}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region takes focus so that the keyboard can scroll it
        tabIndex={0}
        aria-label={`Messages in ${isolate(room.name)}`}
        aria-describedby="timeline-keys"
      >
        <p id="timeline-keys" class="visually-hidden">
          Use the up and down arrow keys to move between messages, and Tab to reach a message's actions.
        </p>
        {state.error.value ? (
          <p class="form-error" role="alert">
            {state.error.value}{" "}
            <button type="button" class="link" onClick={() => void state.load()}>
              Try again
            </button>
          </p>
        ) : null}
        {!state.loaded.value && !state.error.value ? <p class="loading">Loading messages…</p> : null}
        {state.loaded.value && state.atStart.value ? (
          <p class="room-start">
            This is the start of <Name text={room.name} />.
          </p>
        ) : state.loadingOlder.value ? (
          <p class="loading">Loading older messages…</p>
        ) : null}
        <div role="log" aria-label="Messages">
          <ol class="messages">{items}</ol>
        </div>
      </section>
      {!atBottom.value && state.loaded.value ? (
        <button type="button" class="jump-latest" onClick={() => void jumpToLatest()}>
          {room.unread > 0 ? `${room.unread} new · ` : ""}Jump to latest <Icon name="down" size={14} />
        </button>
      ) : null}
      {history ? <EditHistory message={history} onClose={() => setHistory(null)} /> : null}
      {deleting ? (
        <Confirm
          title="Delete message?"
          action="Delete"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await attempt(async () => {
              await api("DELETE", `/rooms/${room.id}/messages/${deleting.id}`);
              state.patch(deleting.id, (m) => ({ ...m, content: "", html: "", deletedAt: new Date().toISOString() }));
              setDeleting(null);
            });
          }}
        >
          <p>This removes the message for everyone. It cannot be undone.</p>
          <UserText as="blockquote" class="quote" text={deleting.content.slice(0, 300)} />
        </Confirm>
      ) : null}
      {picker ? (
        <EmojiPicker
          title="Add a reaction"
          onClose={() => setPicker(null)}
          onPick={(emoji) => {
            const target = picker;
            setPicker(null);
            void toggleReaction(room.id, target, emoji, true);
          }}
        />
      ) : null}
    </div>
  );
}
