/** Threads: the summary under a thread's root, and the thread panel with its own composer. */
import { signal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { api } from "./api.ts";
import { threadScope, useDraft } from "./drafts.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { AuthorAvatar, displayNameIn, PendingItem } from "./message.tsx";
import { lookalikesIn, PersonName } from "./names.tsx";
import { RelativeTime } from "./relative-time.ts";
import { type RoomState, say, sendMessage } from "./store.ts";
import type { Message, Room } from "./types.ts";
import { Avatar } from "./ui.tsx";

/** The thread open beside the room (a side panel on desktop, the whole screen on a phone). */
export const openThread = signal<{ roomId: string; rootId: string } | null>(null);

/** Whether the main timeline shows a message: thread replies stay in their thread unless also sent to the room. */
export function onMainTimeline(message: { threadRootId?: string | null; alsoInRoom?: boolean }): boolean {
  return message.threadRootId == null || message.alsoInRoom === true;
}

/** What a thread's root shows under it: "5 replies · last 2 min ago" and the repliers' avatars. */
export function ThreadSummaryButton(props: { message: Message; roomId: string }) {
  const thread = props.message.thread;
  if (!thread || thread.count === 0) return null;
  const label = `${thread.count} ${thread.count === 1 ? "reply" : "replies"}`;
  return (
    <button
      type="button"
      class="thread-summary"
      onClick={() => {
        openThread.value = { roomId: props.roomId, rootId: props.message.id };
      }}
    >
      <span class="thread-avatars" aria-hidden="true">
        {thread.participants.slice(0, 3).map((p) => (
          <Avatar key={p.id} id={p.id} name={p.displayName || p.handle} url={p.avatarUrl} color={p.color} size="s" />
        ))}
      </span>
      <span class="thread-count">{label}</span>
      <span class="muted small">
        {" "}
        · last <RelativeTime at={thread.lastReplyAt} />
      </span>
      {thread.unread > 0 ? <span class="badge thread-unread">{thread.unread} new</span> : null}
    </button>
  );
}

/** The open thread: its root, its replies in order, and a composer that can also send to the room. */
export function ThreadPanel(props: { room: Room; state: RoomState; rootId: string }) {
  const { room, state, rootId } = props;
  const loaded = useSignal(false);
  const error = useSignal<string | null>(null);
  const text = useSignal("");
  const alsoInRoom = useSignal(false);
  useDraft(threadScope(room.id, rootId), text);
  const area = useRef<HTMLTextAreaElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const messages = state.messages.value;
  const root = messages.find((m) => m.id === rootId);
  const replies = messages.filter((m) => m.threadRootId === rootId);
  const pending = state.pending.value.filter((p) => p.threadRootId === rootId);
  const members = state.members.value;
  const looksAlike = lookalikesIn(members);

  useEffect(() => {
    loaded.value = false;
    api<{ root: Message; messages: Message[] }>("GET", `/rooms/${room.id}/threads/${rootId}?limit=100`)
      .then((thread) => {
        state.add([thread.root, ...thread.messages]);
        loaded.value = true;
      })
      .catch((e) => {
        error.value = describeError(e);
      });
    area.current?.focus();
  }, [room.id, rootId]);

  // What is shown is read: the thread's read position follows its last reply.
  const last = replies.at(-1);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: "nearest" });
    if (!loaded.value || !last || (root?.thread?.unread ?? 0) === 0) return;
    state.patch(rootId, (m) => (m.thread ? { ...m, thread: { ...m.thread, unread: 0 } } : m));
    void api("POST", `/rooms/${room.id}/threads/${rootId}/read`, { seq: last.seq }).catch(() => {});
  }, [last?.id, loaded.value]);

  function submit() {
    const content = text.value.trim();
    if (!content) return;
    sendMessage(room.id, content, null, [], { rootId, alsoInRoom: alsoInRoom.value });
    text.value = "";
    if (area.current) area.current.value = "";
  }

  const close = () => {
    openThread.value = null;
  };
  return (
    <aside class="thread-panel" aria-label="Thread">
      <div class="panel-head">
        <h2>Thread</h2>
        <button type="button" class="icon-button" aria-label="Close thread" title="Close thread" onClick={close}>
          <Icon name="close" />
        </button>
      </div>
      {error.value ? (
        <p class="form-error" role="alert">
          {error.value}
        </p>
      ) : null}
      <ol class="thread-messages" ref={list} aria-label="Replies">
        {root ? <ThreadItem message={root} members={members} looksAlike={looksAlike} root /> : null}
        {replies.map((m) => (
          <ThreadItem key={m.id} message={m} members={members} looksAlike={looksAlike} />
        ))}
        {pending.map((p) => (
          <PendingItem key={p.txnId} pending={p} />
        ))}
      </ol>
      <form
        class="thread-composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <textarea
          ref={area}
          rows={2}
          value={text.value}
          dir="auto"
          maxLength={4000}
          aria-label="Reply in thread"
          placeholder="Reply in thread…"
          onInput={(e) => {
            text.value = e.currentTarget.value;
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              submit();
            }
          }}
        />
        <div class="thread-composer-row">
          <label class="small">
            <input
              type="checkbox"
              checked={alsoInRoom.value}
              onChange={(e) => {
                alsoInRoom.value = e.currentTarget.checked;
              }}
            />{" "}
            Also send to room
          </label>
          <button type="submit" class="primary">
            Send
          </button>
        </div>
      </form>
    </aside>
  );
}

function ThreadItem(props: {
  message: Message;
  members: RoomState["members"]["value"];
  looksAlike: ReturnType<typeof lookalikesIn>;
  root?: boolean;
}) {
  const { message } = props;
  const author = displayNameIn(message.author, props.members, props.looksAlike);
  const deleted = message.deletedAt != null;
  return (
    <li class={props.root ? "message thread-root" : "message"} id={`thread-msg-${message.id}`}>
      <AuthorAvatar message={message} author={author} />
      <div class="message-body">
        <div class="message-head">
          <span class="author" style={author.color ? { color: author.color } : undefined}>
            <PersonName {...author} />
          </span>
          <RelativeTime at={message.createdAt} />
          {message.alsoInRoom ? <span class="muted small"> · also sent to the room</span> : null}
        </div>
        {deleted ? (
          <p class="deleted">Message deleted</p>
        ) : (
          // Rendered and sanitised by the server (src/messages/markdown.ts), as in the timeline.
          <div class="content" dir="auto" dangerouslySetInnerHTML={{ __html: message.html }} />
        )}
      </div>
    </li>
  );
}

/** Opens a message's thread, showing a failure rather than throwing. */
export function replyInThread(roomId: string, message: Message): void {
  if (message.pending) {
    say("Wait until the message is sent.", true);
    return;
  }
  openThread.value = { roomId, rootId: message.threadRootId ?? message.id };
}
