/** A room: header, timeline, typing line and composer; the preview for rooms one is not in. */
import { type Signal, useComputed, useSignal } from "@preact/signals";
import type { CSSProperties, JSX, TargetedKeyboardEvent } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import { AttachmentList, addFiles, UploadChips, type UploadItem } from "./attachments.tsx";
import { recentEmoji, rememberEmoji, searchEmoji } from "./emoji.ts";
import { Icon } from "./icons.tsx";
import { MemberPanel } from "./members.tsx";
import { navigate } from "./router.ts";
import { RoomSettings } from "./settings.tsx";
import {
  atBottom,
  attempt,
  describeError,
  discardSend,
  isHidden,
  jumpRequest,
  markRead,
  me,
  pageTitle,
  putRoom,
  type RoomState,
  retrySend,
  roomState,
  rooms,
  roomsLoaded,
  say,
  sendMessage,
  setRoomNotifications,
} from "./store.ts";
import type { Actor, Member, Message, PendingMessage, Room } from "./types.ts";
import { ActionButton, Avatar, Confirm, Dialog, dayLabel, formatDate, Time } from "./ui.tsx";

/** Consecutive messages by one author within this long share one header. */
const groupWindowMs = 5 * 60 * 1000;

export function RoomView(props: { roomId: string; panel?: "settings" }) {
  const room = rooms.value.find((r) => r.id === props.roomId);
  if (!room) {
    if (!roomsLoaded.value) return <p class="loading">Loading…</p>;
    return <RoomPreview roomId={props.roomId} />;
  }
  if (room.membership === "pending") {
    return (
      <section class="pane-center" aria-labelledby="pending-title">
        <h1 id="pending-title">{room.name}</h1>
        <p class="muted small">{room.handle}</p>
        <p role="status">Waiting for the room's server to accept you. The room opens here as soon as it does.</p>
      </section>
    );
  }
  return <JoinedRoom room={room} panel={props.panel} />;
}

/** What someone who is not a member sees: the room's name, topic and a join button. */
function RoomPreview(props: { roomId: string }) {
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!/^[0-9a-f-]{36}$/i.test(props.roomId)) {
      setError("This room does not exist or you cannot see it.");
      return;
    }
    api<Room>("GET", `/rooms/${props.roomId}`)
      .then(setRoom)
      .catch((e) => setError(describeError(e)));
  }, [props.roomId]);
  if (error) {
    return (
      <section class="pane-center">
        <h1>Room unavailable</h1>
        <p role="alert">{error}</p>
        <a href="/directory">Browse the directory</a>
      </section>
    );
  }
  if (!room) return <p class="loading">Loading…</p>;
  return (
    <section class="pane-center preview" aria-labelledby="preview-title">
      <Avatar id={room.id} name={room.name} url={room.avatarUrl} size="l" color={room.theme} />
      <h1 id="preview-title">{room.name}</h1>
      {room.topic ? <p class="topic">{room.topic}</p> : null}
      <p class="muted small">{room.handle}</p>
      <ActionButton
        class="primary"
        action={async () => putRoom(await api<Room>("POST", `/rooms/${room.id}/join`))}
        onError={setError}
      >
        Join room
      </ActionButton>
    </section>
  );
}

function displayNameIn(actor: Actor | null, members: Member[] | null): { name: string; color: string | null } {
  if (!actor) return { name: "Deleted user", color: null };
  const member = members?.find((m) => m.actor.id === actor.id);
  return {
    name: member?.nickname || actor.displayName || actor.handle,
    color: member?.color ?? actor.color ?? null,
  };
}

function JoinedRoom(props: { room: Room; panel?: "settings" | undefined }) {
  const { room } = props;
  const state = roomState(room.id);
  const showMembers = useSignal(matchMedia("(min-width: 1100px)").matches);
  const replyTo = useSignal<Message | null>(null);
  const editing = useSignal<Message | null>(null);
  const uploads = useSignal<UploadItem[]>([]);
  const dragging = useSignal(false);
  const showNotify = useSignal(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    void state.load();
    if (state.members.peek() == null) void state.loadMembers();
    atBottom.value = true;
    return () => {
      pageTitle.value = "";
    };
  }, [state]);

  useEffect(() => {
    pageTitle.value = room.name;
  }, [room.name]);
  const accent = room.theme ? ({ "--room-accent": room.theme } as CSSProperties) : undefined;
  const can = (action: string) => room.permissions.includes(action);
  const host = room.remote ? room.handle.split("@").pop() : null;
  const muted = room.notifications?.muted === true;
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes("Files") === true;
  return (
    <div class={showMembers.value ? "room with-members" : "room"} style={accent}>
      <section
        class={dragging.value ? "room-main dragging" : "room-main"}
        aria-labelledby="room-title"
        onDragOver={(e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          dragging.value = true;
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) dragging.value = false;
        }}
        onDrop={(e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          dragging.value = false;
          addFiles(uploads, e.dataTransfer?.files ?? []);
        }}
      >
        <header class="room-head">
          <a href="/" class="icon-button back" aria-label="Back to rooms">
            <Icon name="back" />
          </a>
          <Avatar id={room.id} name={room.name} url={room.avatarUrl} size="s" color={room.theme} />
          <div class="room-title-block">
            <h1 id="room-title" ref={heading} tabIndex={-1}>
              {room.name}
            </h1>
            {room.topic ? <p class="topic">{room.topic}</p> : null}
            {host ? <p class="muted small room-host">on {host}</p> : null}
          </div>
          <button
            type="button"
            class={muted ? "icon-button muted-room" : "icon-button"}
            aria-label={muted ? "Notification settings (muted)" : "Notification settings"}
            title={muted ? "Muted" : "Notification settings"}
            onClick={() => {
              showNotify.value = true;
            }}
          >
            <Icon name="bell" />
          </button>
          <button
            type="button"
            class="icon-button"
            aria-pressed={showMembers.value}
            aria-controls="member-panel"
            aria-label="Members"
            title="Members"
            onClick={() => {
              showMembers.value = !showMembers.value;
            }}
          >
            <Icon name="users" />
          </button>
          <a href={`/rooms/${room.id}/settings`} class="icon-button" aria-label="Room settings" title="Room settings">
            <Icon name="gear" />
          </a>
        </header>
        <Timeline room={room} state={state} replyTo={replyTo} editing={editing} />
        <TypingLine state={state} />
        <Composer room={room} state={state} replyTo={replyTo} editing={editing} uploads={uploads} />
      </section>
      {showNotify.value ? (
        <RoomNotifications
          room={room}
          onClose={() => {
            showNotify.value = false;
          }}
        />
      ) : null}
      {showMembers.value ? (
        <MemberPanel
          room={room}
          state={state}
          onClose={() => {
            showMembers.value = false;
          }}
        />
      ) : null}
      {props.panel === "settings" ? (
        <RoomSettings room={room} canManage={can} onClose={() => navigate(`/rooms/${room.id}`)} />
      ) : null}
    </div>
  );
}

function TypingLine(props: { state: RoomState }) {
  const typing = props.state.typing.value;
  const members = props.state.members.value;
  const names = Object.keys(typing).map((id) => {
    const member = members?.find((m) => m.actor.id === id);
    return member?.nickname || member?.actor.displayName || member?.actor.handle || "Someone";
  });
  const text =
    names.length === 0
      ? ""
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : "Several people are typing…";
  return (
    <div class="typing" aria-live="polite">
      {text}
    </div>
  );
}

type Sig<T> = { value: T; peek(): T };

function Timeline(props: { room: Room; state: RoomState; replyTo: Sig<Message | null>; editing: Sig<Message | null> }) {
  const { room, state } = props;
  const messages = state.messages.value;
  const pending = state.pending.value;
  const members = state.members.value;
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
    atBottom.value = stuck.current;
    if (el.scrollTop < 300) void state.loadOlder();
    const last = state.messages.peek().at(-1);
    if (stuck.current && last && document.visibilityState === "visible") markRead(room.id, last.seq);
  }

  // A notification asked for a message of this room: go to it once the history is in.
  useEffect(() => {
    const wanted = jumpRequest.value;
    if (!wanted || wanted.roomId !== room.id || !state.loaded.value) return;
    jumpRequest.value = null;
    requestAnimationFrame(() => void jumpTo(wanted.messageId));
  }, [jumpRequest.value, state.loaded.value]);

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

  function jumpToLatest() {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    stuck.current = true;
    document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
  }

  async function jumpTo(id: string) {
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

  const items: JSX.Element[] = [];
  let previous: Message | null = null;
  for (const message of messages) {
    const day = new Date(message.createdAt).toDateString();
    if (!previous || new Date(previous.createdAt).toDateString() !== day) {
      items.push(
        <li key={`day-${message.id}`} class="day-separator">
          <span>{dayLabel(message.createdAt)}</span>
        </li>,
      );
    }
    if (message === firstNew) {
      items.push(
        <li key="new-line" class="new-line">
          <span>New messages</span>
        </li>,
      );
    }
    const continued =
      previous != null &&
      previous.author?.id === message.author?.id &&
      !message.replyTo &&
      !previous.deletedAt &&
      new Date(previous.createdAt).toDateString() === day &&
      Date.parse(message.createdAt) - Date.parse(previous.createdAt) < groupWindowMs &&
      message !== firstNew;
    items.push(
      <MessageItem
        key={message.id}
        message={message}
        room={room}
        members={members}
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
        onJump={jumpTo}
      />,
    );
    previous = message;
  }
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
        aria-label={`Messages in ${room.name}`}
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
          <p class="room-start">This is the start of {room.name}.</p>
        ) : state.loadingOlder.value ? (
          <p class="loading">Loading older messages…</p>
        ) : null}
        <div role="log" aria-label="Messages">
          <ol class="messages">{items}</ol>
        </div>
      </section>
      {!atBottom.value && state.loaded.value ? (
        <button type="button" class="jump-latest" onClick={jumpToLatest}>
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
          <blockquote class="quote">{deleting.content.slice(0, 300)}</blockquote>
        </Confirm>
      ) : null}
      {picker ? (
        <ReactionPicker
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

async function toggleReaction(roomId: string, message: Message, emoji: string, on: boolean) {
  rememberEmoji(emoji);
  await attempt(async () => {
    await api(on ? "PUT" : "DELETE", `/rooms/${roomId}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`);
  });
}

function MessageItem(props: {
  message: Message;
  room: Room;
  members: Member[] | null;
  continued: boolean;
  mine: boolean;
  highlighted: boolean;
  onReply(): void;
  onEdit(): void;
  onDelete(): void;
  onHistory(): void;
  onPick(): void;
  onJump(id: string): void;
}) {
  const { message, room } = props;
  const author = displayNameIn(message.author, props.members);
  const deleted = message.deletedAt != null;
  const canDelete = !deleted && (props.mine || room.permissions.includes("deleteOthers"));
  const [who, setWho] = useState<Record<string, string>>({});
  const loadWho = async () => {
    if (Object.keys(who).length > 0) return;
    try {
      const { reactions } = await api<{ reactions: { emoji: string; actors: Actor[] }[] }>(
        "GET",
        `/rooms/${room.id}/messages/${message.id}/reactions`,
      );
      setWho(
        Object.fromEntries(
          reactions.map((r) => [r.emoji, r.actors.map((a) => displayNameIn(a, props.members).name).join(", ")]),
        ),
      );
    } catch {
      // the names are a nicety
    }
  };
  // Reaction counts change with events: forget who reacted so it is asked again.
  useEffect(() => setWho({}), [message.reactions]);
  const mentioned = !props.mine && message.html.includes(`href="${me.value?.url}"`);
  const [revealed, setRevealed] = useState(false);
  if (isHidden(message) && !revealed && !deleted) {
    return (
      <li
        id={`msg-${message.id}`}
        class="message hidden-message"
        tabIndex={-1}
        aria-label="Message from a blocked user"
      >
        <span class="gutter-time">
          <Time at={message.createdAt} />
        </span>
        <p class="muted">
          Message from a blocked user{" "}
          <button type="button" class="link" onClick={() => setRevealed(true)}>
            Show
          </button>
        </p>
      </li>
    );
  }
  return (
    <li
      id={`msg-${message.id}`}
      class={`message${props.continued ? " continued" : ""}${props.highlighted ? " highlighted" : ""}${mentioned ? " mentioned" : ""}`}
      tabIndex={-1}
      aria-label={`${author.name}, ${new Date(message.createdAt).toLocaleString()}`}
    >
      {props.continued ? (
        <span class="gutter-time">
          <Time at={message.createdAt} />
        </span>
      ) : (
        <Avatar
          id={message.author?.id ?? message.id}
          name={author.name}
          url={message.author?.avatarUrl}
          color={author.color}
        />
      )}
      <div class="message-body">
        {message.replyTo ? (
          <button type="button" class="reply-quote" onClick={() => props.onJump(message.replyTo?.id ?? "")}>
            <span class="reply-author">
              ↪ {message.replyTo.author ? displayNameIn(message.replyTo.author, props.members).name : "a message"}
            </span>{" "}
            <span class="reply-snippet">{message.replyTo.deleted ? "(deleted)" : message.replyTo.snippet}</span>
          </button>
        ) : null}
        {props.continued && !message.replyTo ? null : (
          <div class="message-head">
            <a
              class="author"
              href={message.author ? `/users/${encodeURIComponent(message.author.handle)}` : undefined}
              style={author.color ? { color: author.color } : undefined}
            >
              {author.name}
            </a>
            <Time at={message.createdAt} />
          </div>
        )}
        {deleted ? (
          <p class="deleted">Message deleted</p>
        ) : (
          // The server renders Markdown and sanitises the HTML against a strict allowlist
          // (src/messages/markdown.ts); it is the only markup the client ever inserts.
          <div class="content" dangerouslySetInnerHTML={{ __html: message.html }} />
        )}
        {!deleted ? <AttachmentList message={message} /> : null}
        {revealed ? (
          <button type="button" class="link small" onClick={() => setRevealed(false)}>
            Hide (blocked user)
          </button>
        ) : null}
        {message.editedAt && !deleted ? (
          <button
            type="button"
            class="edited link"
            onClick={props.onHistory}
            title={`Edited ${formatDate(message.editedAt)}`}
          >
            (edited)
          </button>
        ) : null}
        {message.reactions.length > 0 ? (
          <ul class="reactions" aria-label="Reactions">
            {message.reactions.map((r) => (
              <li key={r.emoji}>
                <button
                  type="button"
                  class={r.me ? "chip mine" : "chip"}
                  aria-pressed={r.me}
                  aria-label={`${r.emoji} ${r.count}${who[r.emoji] ? `: ${who[r.emoji]}` : ""}`}
                  title={who[r.emoji] ?? "…"}
                  onMouseEnter={loadWho}
                  onFocus={loadWho}
                  onClick={() => void toggleReaction(room.id, message, r.emoji, !r.me)}
                >
                  <span class="chip-emoji">{r.emoji}</span> <span class="chip-count">{r.count}</span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {deleted ? null : (
        <div class="message-actions" role="toolbar" aria-label="Message actions">
          <button
            type="button"
            class="icon-button small"
            aria-label="Add reaction"
            title="Add reaction"
            onClick={props.onPick}
          >
            <Icon name="smile" size={16} />
          </button>
          <button type="button" class="icon-button small" aria-label="Reply" title="Reply" onClick={props.onReply}>
            <Icon name="reply" size={16} />
          </button>
          {props.mine ? (
            <button type="button" class="icon-button small" aria-label="Edit" title="Edit" onClick={props.onEdit}>
              <Icon name="edit" size={16} />
            </button>
          ) : null}
          {canDelete ? (
            <button type="button" class="icon-button small" aria-label="Delete" title="Delete" onClick={props.onDelete}>
              <Icon name="trash" size={16} />
            </button>
          ) : null}
        </div>
      )}
    </li>
  );
}

function PendingItem(props: { pending: PendingMessage }) {
  const p = props.pending;
  const user = me.value;
  return (
    <li class={`message pending-message ${p.state}`} aria-label={p.state === "failed" ? "Message not sent" : "Sending"}>
      <Avatar
        id={user?.id ?? ""}
        name={user?.displayName || user?.username || "?"}
        url={user?.avatarUrl}
        color={user?.color}
      />
      <div class="message-body">
        <div class="message-head">
          <span class="author">{user?.displayName || user?.username}</span>
          <span class="muted small">{p.state === "sending" ? "Sending…" : "Not sent"}</span>
        </div>
        {p.content ? <p class="content plain">{p.content}</p> : null}
        {p.attachments?.length ? (
          <ul class="attachment-files">
            {p.attachments.map((a) => (
              <li key={a.id} class="attachment-file">
                <Icon name="file" size={18} /> <span class="attachment-name">{a.name}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {p.messageId && p.state === "sending" ? (
          <p class="muted small">Waiting for the room's server to confirm…</p>
        ) : null}
        {p.state === "failed" ? (
          <p class="send-failed" role="alert">
            {p.error}{" "}
            <button type="button" class="link" onClick={() => retrySend(p)}>
              Retry
            </button>{" "}
            <button type="button" class="link" onClick={() => discardSend(p)}>
              Discard
            </button>
          </p>
        ) : null}
      </div>
    </li>
  );
}

function EditHistory(props: { message: Message; onClose(): void }) {
  const [edits, setEdits] = useState<{ content: string; html: string; replacedAt: string }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ edits: { content: string; html: string; replacedAt: string }[] }>(
      "GET",
      `/rooms/${props.message.roomId}/messages/${props.message.id}/edits`,
    )
      .then((r) => setEdits(r.edits))
      .catch((e) => setError(describeError(e)));
  }, [props.message.id]);
  return (
    <Dialog title="Edit history" onClose={props.onClose}>
      {error ? <p role="alert">{error}</p> : null}
      {!edits && !error ? <p class="loading">Loading…</p> : null}
      <ol class="edit-history">
        <li>
          <p class="muted small">Now</p>
          <div class="content" dangerouslySetInnerHTML={{ __html: props.message.html }} />
        </li>
        {(edits ?? []).map((edit) => (
          <li key={edit.replacedAt}>
            <p class="muted small">Before {formatDate(edit.replacedAt)}</p>
            <div class="content" dangerouslySetInnerHTML={{ __html: edit.html }} />
          </li>
        ))}
      </ol>
    </Dialog>
  );
}

function ReactionPicker(props: { onPick(emoji: string): void; onClose(): void }) {
  const [query, setQuery] = useState("");
  const recent = useMemo(recentEmoji, []);
  const found = searchEmoji(query);
  const custom = query.trim();
  const isOneEmoji =
    custom !== "" &&
    /^\p{Extended_Pictographic}/u.test(custom) &&
    [...new Intl.Segmenter().segment(custom)].length === 1;
  const pick = (emoji: string) => props.onPick(emoji);
  return (
    <Dialog title="Add a reaction" onClose={props.onClose}>
      <input
        type="search"
        class="emoji-search"
        placeholder="Search emoji (or type one)"
        aria-label="Search emoji"
        value={query}
        autoFocus
        onInput={(e) => setQuery(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            const first = isOneEmoji ? custom : found[0];
            if (first) pick(first);
          }
        }}
      />
      {recent.length > 0 && !query ? (
        <>
          <h3 class="section-title">Recent</h3>
          <div class="emoji-grid">
            {recent.map((e) => (
              <button type="button" key={`r${e}`} class="emoji" aria-label={e} onClick={() => pick(e)}>
                {e}
              </button>
            ))}
          </div>
        </>
      ) : null}
      <h3 class="section-title">{query ? "Results" : "All"}</h3>
      <div class="emoji-grid">
        {isOneEmoji && !found.includes(custom) ? (
          <button type="button" class="emoji" aria-label={custom} onClick={() => pick(custom)}>
            {custom}
          </button>
        ) : null}
        {found.map((e) => (
          <button type="button" key={e} class="emoji" aria-label={e} onClick={() => pick(e)}>
            {e}
          </button>
        ))}
        {found.length === 0 && !isOneEmoji ? <p class="muted">No emoji match “{query}”.</p> : null}
      </div>
    </Dialog>
  );
}

function Composer(props: {
  room: Room;
  state: RoomState;
  replyTo: Sig<Message | null>;
  editing: Sig<Message | null>;
  uploads: Signal<UploadItem[]>;
}) {
  const { room, state, uploads } = props;
  const fileInput = useRef<HTMLInputElement>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const text = useSignal("");
  const caret = useSignal(0);
  const active = useSignal(0);
  const lastTyping = useRef(0);
  const dismissed = useSignal<string | null>(null);
  const editing = props.editing.value;
  const replyTo = props.replyTo.value;
  const user = me.value;
  const localHost = user?.handle.split("@")[1] ?? location.host;

  // Start editing: the message's source goes into the box.
  useEffect(() => {
    if (!editing) return;
    const el = area.current;
    if (el) {
      el.value = editing.content;
      el.focus();
      el.setSelectionRange(el.value.length, el.value.length);
    }
    text.value = editing.content;
  }, [editing]);

  useEffect(() => {
    area.current?.focus();
  }, [room.id]);

  const query = useComputed(() => {
    const before = text.value.slice(0, caret.value);
    const m = /(?:^|\s)@([A-Za-z0-9_.@-]{0,64})$/.exec(before);
    return m ? (m[1] as string).toLowerCase() : null;
  });
  const suggestions = useComputed(() => {
    const q = query.value;
    if (q == null || dismissed.value === text.value) return [];
    return (state.members.value ?? [])
      .filter(
        (m) =>
          m.actor.id !== user?.id &&
          (m.actor.handle.toLowerCase().startsWith(q) ||
            m.actor.displayName.toLowerCase().startsWith(q) ||
            (m.nickname ?? "").toLowerCase().startsWith(q)),
      )
      .slice(0, 6);
  });

  function mentionOf(member: Member): string {
    const [name, host] = member.actor.handle.split("@");
    return host && host !== localHost ? member.actor.handle : (name ?? member.actor.handle);
  }

  function choose(member: Member) {
    const el = area.current;
    if (!el) return;
    const before = text.value.slice(0, caret.value).replace(/@[A-Za-z0-9_.@-]*$/, `@${mentionOf(member)} `);
    const after = text.value.slice(caret.value);
    // Write the box now and place the caret at once: waiting for the next render or frame
    // would let fast typing land before the caret moves.
    el.value = before + after;
    el.setSelectionRange(before.length, before.length);
    el.focus();
    text.value = el.value;
    caret.value = before.length;
  }

  function typing(on: boolean) {
    const now = Date.now();
    if (on && now - lastTyping.current < 4000) return;
    if (!on && lastTyping.current === 0) return;
    lastTyping.current = on ? now : 0;
    void api("POST", `/rooms/${room.id}/typing`, { typing: on }).catch(() => {});
  }

  const uploading = uploads.value.some((u) => u.state === "uploading");
  const ready = uploads.value.filter((u) => u.state === "done" && u.attachment);

  async function submit() {
    const content = text.value;
    if (editing) {
      if (!content.trim()) return;
      await attempt(async () => {
        const updated = await api<Message>("PATCH", `/rooms/${room.id}/messages/${editing.id}`, { content });
        state.upsert(updated);
        props.editing.value = null;
        text.value = "";
      });
      return;
    }
    if (uploading) return say("Wait for the uploads to finish.", true);
    if (!content.trim() && ready.length === 0) return;
    sendMessage(
      room.id,
      content.trim() ? content : "",
      replyTo,
      ready.map((u) => u.attachment as NonNullable<UploadItem["attachment"]>),
    );
    uploads.value = uploads.value.filter((u) => u.state === "failed");
    text.value = "";
    props.replyTo.value = null;
    typing(false);
  }

  function onKeyDown(e: TargetedKeyboardEvent<HTMLTextAreaElement>) {
    const list = suggestions.value;
    if (list.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active.value = (active.value + (e.key === "ArrowDown" ? 1 : list.length - 1)) % list.length;
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        const member = list[Math.min(active.value, list.length - 1)];
        if (member) choose(member);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        dismissed.value = text.value;
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === "ArrowUp" && text.value === "" && !editing) {
      const mine = [...state.messages.peek()].reverse().find((m) => m.author?.id === user?.id && !m.deletedAt);
      if (mine) {
        e.preventDefault();
        props.replyTo.value = null;
        props.editing.value = mine;
      }
    } else if (e.key === "Escape") {
      if (editing) {
        props.editing.value = null;
        text.value = "";
      } else if (replyTo) props.replyTo.value = null;
    }
  }

  const lines = Math.min(8, text.value.split("\n").length);
  const list = suggestions.value;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {replyTo || editing ? (
        <div class="composer-context">
          <span>
            {editing ? (
              "Editing your message"
            ) : (
              <>
                Replying to <strong>{displayNameIn(replyTo?.author ?? null, state.members.value).name}</strong>:{" "}
                <span class="reply-snippet">{replyTo?.content.slice(0, 80)}</span>
              </>
            )}
          </span>
          <button
            type="button"
            class="icon-button small"
            aria-label={editing ? "Cancel editing" : "Cancel reply"}
            onClick={() => {
              if (editing) text.value = "";
              props.editing.value = null;
              props.replyTo.value = null;
              area.current?.focus();
            }}
          >
            <Icon name="close" size={14} />
          </button>
        </div>
      ) : null}
      {list.length > 0 ? (
        // The textarea keeps the focus and points at the active option (ARIA combobox pattern).
        <div class="suggestions" id="mention-list" role="listbox" aria-label="Mention someone">
          {list.map((m, i) => (
            <div
              key={m.actor.id}
              id={`mention-${i}`}
              role="option"
              tabIndex={-1}
              aria-selected={i === active.value}
              class={i === active.value ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(m);
              }}
            >
              <Avatar id={m.actor.id} name={m.actor.displayName} url={m.actor.avatarUrl} size="s" color={m.color} />
              <span>{m.nickname || m.actor.displayName}</span> <span class="muted small">@{mentionOf(m)}</span>
            </div>
          ))}
        </div>
      ) : null}
      {editing ? null : <UploadChips items={uploads} />}
      <div class="composer-row">
        {editing ? null : (
          <>
            <input
              ref={fileInput}
              type="file"
              multiple
              class="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => {
                addFiles(uploads, e.currentTarget.files ?? []);
                e.currentTarget.value = "";
              }}
            />
            <button
              type="button"
              class="icon-button attach"
              aria-label="Attach files"
              title="Attach files (or drop or paste them)"
              onClick={() => fileInput.current?.click()}
            >
              <Icon name="clip" />
            </button>
          </>
        )}
        <textarea
          ref={area}
          rows={lines}
          value={text.value}
          maxLength={10000}
          placeholder={`Message ${room.name}`}
          aria-label={editing ? "Edit message" : `Message ${room.name}`}
          aria-describedby="composer-hint"
          aria-controls="mention-list"
          aria-autocomplete="list"
          aria-activedescendant={list.length > 0 ? `mention-${active.value}` : undefined}
          onInput={(e) => {
            text.value = e.currentTarget.value;
            caret.value = e.currentTarget.selectionStart;
            active.value = 0;
            typing(e.currentTarget.value.trim() !== "");
          }}
          onKeyUp={(e) => {
            caret.value = e.currentTarget.selectionStart;
          }}
          onClick={(e) => {
            caret.value = e.currentTarget.selectionStart;
          }}
          onBlur={() => typing(false)}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const files = [...(e.clipboardData?.files ?? [])];
            if (files.length === 0 || editing) return;
            e.preventDefault();
            addFiles(uploads, files);
          }}
        />
        <button
          type="submit"
          class="primary send"
          disabled={editing ? !text.value.trim() : uploading || (!text.value.trim() && ready.length === 0)}
        >
          {editing ? "Save" : "Send"}
        </button>
      </div>
      <p id="composer-hint" class="composer-hint">
        Enter sends, Shift+Enter adds a line, ↑ edits your last message. **bold**, _italic_, `code`, &gt; quote.
      </p>
    </form>
  );
}

/** How this room notifies us: a level and a mute switch (our own, not shown to the room). */
function RoomNotifications(props: { room: Room; onClose(): void }) {
  const { room } = props;
  const current = room.notifications;
  return (
    <Dialog title={`Notifications for ${room.name}`} onClose={props.onClose}>
      <fieldset>
        <legend>Notify me of</legend>
        {(
          [
            ["all", "Every message"],
            ["mentions", "Mentions and replies"],
            ["none", "Nothing"],
          ] as const
        ).map(([level, label]) => (
          <label class="check" key={level}>
            <input
              type="radio"
              name="level"
              value={level}
              checked={current?.level === level}
              onChange={() => void setRoomNotifications(room, { notifications: level })}
            />{" "}
            {label}
          </label>
        ))}
        <button
          type="button"
          class="link small"
          onClick={() => void setRoomNotifications(room, { notifications: "default" })}
        >
          Back to the default ({room.direct ? "every message" : "mentions and replies"})
        </button>
      </fieldset>
      <label class="check">
        <input
          type="checkbox"
          checked={current?.muted === true}
          onChange={(e) => void setRoomNotifications(room, { muted: e.currentTarget.checked })}
        />{" "}
        Mute this room (no notifications, no badges)
      </label>
    </Dialog>
  );
}
