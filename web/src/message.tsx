/** One message of the timeline (author, body, files, reactions, actions), a pending send, and their dialogs. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { AttachmentList } from "./attachments.tsx";
import { MessageHtml, PersonEmojiName, ReactionEmoji } from "./custom-emoji-render.tsx";
import { rememberEmoji } from "./emoji.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { InvitationCard } from "./invitations.tsx";
import { LinkCards } from "./link-cards.tsx";
import { BotBadge, type LooksAlike, Name, PersonName, personText, plain, UserText } from "./names.tsx";
import { editUnsent } from "./outbox.ts";
import { RelativeTime } from "./relative-time.ts";
import { ReportButton } from "./report-entry.tsx";
import { StickerMessage } from "./sticker-entry.tsx";
import { attempt, discardSend, isHidden, me, retrySend } from "./store.ts";
import type { Actor, Member, Message, PendingMessage, Room } from "./types.ts";
import { Avatar, Dialog, formatDate, Time } from "./ui.tsx";
import { FileThumb } from "./upload-preview.tsx";

/**
 * The name and colour an author has in a room (their nickname there, else their display
 * name), their handle, and whether the name looks like another member's.
 */
export function displayNameIn(
  actor: Actor | null,
  members: Member[] | null,
  looksAlike: LooksAlike = () => false,
): { name: string; color: string | null; handle?: string; alike: boolean } {
  if (!actor) return { name: "Deleted user", color: null, alike: false };
  // A deleted account (here, or by its server's `Delete`): its messages stay, under this name.
  if (actor.deleted) return { name: "Deleted user", color: null, handle: actor.handle, alike: false };
  const member = members?.find((m) => m.actor.id === actor.id);
  const name = member?.nickname || actor.displayName || actor.handle;
  return {
    name,
    color: member?.color ?? actor.color ?? null,
    handle: actor.handle,
    alike: looksAlike(actor.id, name),
  };
}

/** A message's author's avatar, in the colour the room gives them. */
export function AuthorAvatar(props: { message: Message; author: ReturnType<typeof displayNameIn> }) {
  const { message, author } = props;
  return (
    <Avatar
      id={message.author?.id ?? message.id}
      name={author.name}
      url={message.author?.avatarUrl}
      color={author.color}
    />
  );
}

export async function toggleReaction(roomId: string, message: Message, emoji: string, on: boolean) {
  if (on) rememberEmoji(me.value?.id, emoji);
  await attempt(async () => {
    await api(on ? "PUT" : "DELETE", `/rooms/${roomId}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`);
  });
}

export function MessageItem(props: {
  message: Message;
  room: Room;
  members: Member[] | null;
  looksAlike: LooksAlike;
  continued: boolean;
  mine: boolean;
  highlighted: boolean;
  /** Whether the message is pinned; undefined when the caller may not pin. */
  pinned?: boolean | undefined;
  onReply(): void;
  onEdit(): void;
  onDelete(): void;
  onHistory(): void;
  onPick(): void;
  onPin(on: boolean): void;
  onJump(id: string): void;
  onThread(): void;
  /** Shown under the message (its thread's summary). */
  footer?: ComponentChildren;
}) {
  const { message, room } = props;
  const author = displayNameIn(message.author, props.members, props.looksAlike);
  const replyAuthor = message.replyTo?.author
    ? displayNameIn(message.replyTo.author, props.members, props.looksAlike)
    : null;
  const deleted = message.deletedAt != null;
  const canDelete = !deleted && (props.mine || room.permissions.includes("deleteOthers"));
  const [who, setWho] = useState<Record<string, ReturnType<typeof displayNameIn>[]>>({});
  // Seen in a tooltip, names are isolated; heard through the label, they need not be.
  const whoText = (emoji: string, wrap?: (name: string) => string) =>
    who[emoji]?.map((person) => personText(person, wrap)).join(", ");
  const loadWho = async () => {
    if (Object.keys(who).length > 0) return;
    try {
      const { reactions } = await api<{ reactions: { emoji: string; actors: Actor[] }[] }>(
        "GET",
        `/rooms/${room.id}/messages/${message.id}/reactions`,
      );
      setWho(
        Object.fromEntries(
          reactions.map((r) => [r.emoji, r.actors.map((a) => displayNameIn(a, props.members, props.looksAlike))]),
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
      class={`message${props.continued ? " continued" : ""}${props.highlighted ? " highlighted" : ""}${mentioned ? " mentioned" : ""}${message.sticker ? " sticker-message" : ""}`}
      tabIndex={-1}
      aria-label={`${personText(author, plain)}, ${new Date(message.createdAt).toLocaleString()}`}
    >
      {props.continued ? (
        <span class="gutter-time">
          <Time at={message.createdAt} />
        </span>
      ) : message.author ? (
        <span class="author-avatar" data-user-card={message.author.handle}>
          <AuthorAvatar message={message} author={author} />
        </span>
      ) : (
        <AuthorAvatar message={message} author={author} />
      )}
      <div class="message-body">
        {message.replyTo ? (
          <button type="button" class="reply-quote" onClick={() => props.onJump(message.replyTo?.id ?? "")}>
            <span class="reply-author">↪ {replyAuthor ? <PersonName {...replyAuthor} /> : "a message"}</span>{" "}
            {message.replyTo.deleted ? (
              <span class="reply-snippet">(deleted)</span>
            ) : (
              <Name class="reply-snippet" text={message.replyTo.snippet} />
            )}
          </button>
        ) : null}
        {props.continued && !message.replyTo ? null : (
          <div class="message-head">
            <a
              class="author"
              href={message.author ? `/users/${encodeURIComponent(message.author.handle)}` : undefined}
              style={author.color ? { color: author.color } : undefined}
            >
              {author.alike ? (
                <PersonName {...author} />
              ) : (
                <PersonEmojiName name={author.name} handle={author.handle} emojis={message.author?.emojis} />
              )}
            </a>
            {message.author?.bot ? <BotBadge webhook={message.author.webhook} /> : null}
            <RelativeTime at={message.createdAt} />
          </div>
        )}
        {deleted ? (
          <p class="deleted">Message deleted</p>
        ) : (
          // The server renders Markdown and sanitises the HTML against a strict allowlist
          // (src/messages/markdown.ts); it is the only markup the client ever inserts.
          <MessageHtml html={message.html} emojis={message.emojis} />
        )}
        {deleted ? null : message.sticker ? <StickerMessage message={message} /> : <AttachmentList message={message} />}
        {!deleted && message.invitation ? <InvitationCard message={message} room={room} /> : null}
        {!deleted ? <LinkCards message={message} room={room} mine={props.mine} /> : null}
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
                  aria-label={`${r.emoji} ${r.count}${who[r.emoji] ? `: ${whoText(r.emoji, plain)}` : ""}`}
                  title={whoText(r.emoji) ?? "…"}
                  onMouseEnter={loadWho}
                  onFocus={loadWho}
                  onClick={() => void toggleReaction(room.id, message, r.emoji, !r.me)}
                >
                  <span class="chip-emoji">
                    <ReactionEmoji emoji={r.emoji} url={r.url} />
                  </span>{" "}
                  <span class="chip-count">{r.count}</span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {props.footer}
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
          <button
            type="button"
            class="icon-button small"
            aria-label="Reply in thread"
            title="Reply in thread"
            onClick={props.onThread}
          >
            <Icon name="thread" size={16} />
          </button>
          {props.mine && !message.sticker ? (
            <button type="button" class="icon-button small" aria-label="Edit" title="Edit" onClick={props.onEdit}>
              <Icon name="edit" size={16} />
            </button>
          ) : null}
          {props.pinned !== undefined ? (
            <button
              type="button"
              class="icon-button small"
              aria-label={props.pinned ? "Unpin" : "Pin"}
              aria-pressed={props.pinned}
              title={props.pinned ? "Unpin" : "Pin"}
              onClick={() => props.onPin(!props.pinned)}
            >
              <Icon name="pin" size={16} />
            </button>
          ) : null}
          {!props.mine && message.author && !message.pending ? (
            <ReportButton
              subject={{
                kind: "message",
                name: author.name,
                handle: message.author.handle,
                roomId: room.id,
                messageIds: [message.id],
              }}
            />
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

export function PendingItem(props: { pending: PendingMessage }) {
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
          <Name class="author" text={user?.displayName || user?.username || ""} />
          <span class="muted small">{p.state === "sending" ? "Sending…" : "Not sent"}</span>
        </div>
        {p.content ? <UserText class="content plain" text={p.content} /> : null}
        {p.attachments?.length || p.files?.length ? (
          <ul class="attachment-files">
            {[...(p.attachments ?? []), ...(p.files ?? [])].map((a, i) => (
              <li key={"id" in a ? a.id : `file-${i}`} class="attachment-file">
                <FileThumb blob={"blob" in a ? a.blob : undefined} attachment={"id" in a ? a : undefined} size={18} />{" "}
                <Name class="attachment-name" text={a.name} />
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
            {p.retryable === false ? (
              // A refusal (too long, no longer a member…) would only come again: edit or delete.
              <button type="button" class="link" onClick={() => editUnsent(p)}>
                Edit
              </button>
            ) : (
              <button type="button" class="link" onClick={() => retrySend(p)}>
                Retry
              </button>
            )}{" "}
            <button type="button" class="link" onClick={() => discardSend(p)}>
              {p.retryable === false ? "Delete" : "Discard"}
            </button>
          </p>
        ) : null}
      </div>
    </li>
  );
}

export function EditHistory(props: { message: Message; onClose(): void }) {
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
          <div class="content" dir="auto" dangerouslySetInnerHTML={{ __html: props.message.html }} />
        </li>
        {(edits ?? []).map((edit) => (
          <li key={edit.replacedAt}>
            <p class="muted small">Before {formatDate(edit.replacedAt)}</p>
            <div class="content" dir="auto" dangerouslySetInnerHTML={{ __html: edit.html }} />
          </li>
        ))}
      </ol>
    </Dialog>
  );
}
