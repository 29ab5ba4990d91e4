/**
 * The composer: text with mention and emoji completion, replies, edits, and files to send.
 * What is typed is kept as the room's draft (drafts.ts); past the length limit sending is
 * blocked with the reason, and a long text can go as a file (composer-limits.tsx).
 */
import { type Signal, useSignal } from "@preact/signals";
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { api } from "./api.ts";
import { addFiles, UploadChips, type UploadItem } from "./attachments.tsx";
import { type Completion, CompletionList, comboboxAttributes, completionKey } from "./completion.tsx";
import { useComposerCompletions } from "./composer-completions.tsx";
import { LengthNote, LongPasteOffer } from "./composer-limits.tsx";
import { maxDraftLength, useDraft } from "./drafts.ts";
import { EmojiPicker } from "./emoji-picker.tsx";
import { FormatToggle, FormatToolbar, formatKey, mod } from "./format-toolbar.tsx";
import { Icon } from "./icons.tsx";
import { InviteButton } from "./invitations.tsx";
import { displayNameIn } from "./message.tsx";
import { pasteTooLong, textAsFile, tooLong } from "./message-length.ts";
import { isolate, lookalikesIn, Name, PersonName } from "./names.tsx";
import { runSlashCommand } from "./slash-commands.tsx";
import { StickerButton } from "./sticker-entry.tsx";
import { attempt, me, type RoomState, say, sendMessage } from "./store.ts";
import type { Sig } from "./timeline.tsx";
import type { Message, Room } from "./types.ts";

export function Composer(props: {
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
  const picking = useSignal(false);
  // The formatting toolbar, on a narrow screen (always shown on a wide one).
  const formatting = useSignal(false);
  const editing = props.editing.value;
  const replyTo = props.replyTo.value;
  const user = me.value;
  const localHost = user?.handle.split("@")[1] ?? location.host;
  // A paste too long for a message, waiting for the choice to attach it as a file.
  const longPaste = useSignal<string | null>(null);
  const staged = uploads.value.flatMap((u) => (u.state === "done" && u.attachment ? [u.attachment] : []));
  const draft = useDraft(room.id, text, { paused: editing != null, attachments: staged });

  // The draft's files come back as uploaded chips.
  useEffect(() => {
    if (!draft?.attachments?.length || uploads.peek().length > 0) return;
    uploads.value = draft.attachments.map((a) => ({
      key: a.id,
      name: a.name,
      size: a.size ?? 0,
      progress: 1,
      state: "done",
      attachment: a,
    }));
  }, []);

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

  const completion = useComposerCompletions({ room, state, text, caret, dismissed, area, user, localHost });

  /** Writes a picked emoji where the caret was (over the selection, if any). */
  function insert(emoji: string) {
    const el = area.current;
    if (!el) return;
    const start = el.selectionStart;
    el.value = el.value.slice(0, start) + emoji + el.value.slice(el.selectionEnd);
    el.setSelectionRange(start + emoji.length, start + emoji.length);
    text.value = el.value;
    caret.value = start + emoji.length;
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
  // Files the server could not take (offline): the outbox keeps them and uploads them later.
  const later = uploads.value.filter((u) => u.state === "failed" && u.offline && u.file);

  /** Moves text too long for a message into a text file to send. */
  function attachAsFile(content: string) {
    addFiles(uploads, [textAsFile(content)]);
    longPaste.value = null;
  }

  async function submit() {
    const content = text.value;
    // Never cleared: the reason shows under the box (LengthNote, an alert), and the text waits.
    if (tooLong(content)) return;
    if (editing) {
      if (!content.trim()) return;
      await attempt(async () => {
        const updated = await api<Message>("PATCH", `/rooms/${room.id}/messages/${editing.id}`, { content });
        state.answered(updated);
        props.editing.value = null;
        text.value = "";
      });
      return;
    }
    if (content.startsWith("/") && ready.length === 0 && !replyTo && (await runSlashCommand(room.id, content))) {
      text.value = "";
      typing(false);
      return;
    }
    if (uploading) return say("Wait for the uploads to finish.", true);
    if (!content.trim() && ready.length === 0 && later.length === 0) return;
    sendMessage(
      room.id,
      content.trim() ? content : "",
      replyTo,
      ready.map((u) => u.attachment as NonNullable<UploadItem["attachment"]>),
      undefined,
      later.map((u) => u.file as File),
    );
    uploads.value = uploads.value.filter((u) => u.state === "failed" && !later.includes(u));
    text.value = "";
    props.replyTo.value = null;
    typing(false);
  }

  function onKeyDown(e: TargetedKeyboardEvent<HTMLTextAreaElement>) {
    if (
      completion &&
      completionKey(e, completion as Completion<unknown>, active, () => {
        dismissed.value = text.value;
      })
    ) {
      return;
    }
    if (formatKey(e)) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === "ArrowUp" && !e.altKey && text.value === "" && !editing) {
      const mine = [...state.messages.peek()]
        .reverse()
        .find((m) => m.author?.id === user?.id && !m.deletedAt && !m.sticker);
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
                Replying to{" "}
                <strong>
                  <PersonName
                    {...displayNameIn(replyTo?.author ?? null, state.members.value, lookalikesIn(state.members.value))}
                  />
                </strong>
                : <Name class="reply-snippet" text={replyTo?.content.slice(0, 80) ?? ""} />
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
      {completion ? <CompletionList list={completion as Completion<unknown>} active={active.value} /> : null}
      {editing ? null : <UploadChips items={uploads} />}
      <FormatToolbar target={() => area.current} open={formatting} />
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
          maxLength={maxDraftLength}
          dir="auto"
          placeholder={`Message ${isolate(room.name)}`}
          aria-label={editing ? "Edit message" : `Message ${isolate(room.name)}`}
          aria-describedby="composer-length composer-hint"
          {...comboboxAttributes(completion, active.value)}
          onInput={(e) => {
            text.value = e.currentTarget.value;
            caret.value = e.currentTarget.selectionStart;
            active.value = 0;
            // Editing an old message is not typing a new one: others are not told.
            typing(!editing && e.currentTarget.value.trim() !== "");
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
            const pasted = e.clipboardData?.getData("text/plain") ?? "";
            if (files.length === 0 && !editing && pasteTooLong(e.currentTarget, pasted)) {
              e.preventDefault();
              longPaste.value = pasted;
              return;
            }
            if (files.length === 0 || editing) return;
            e.preventDefault();
            addFiles(uploads, files);
          }}
        />
        <FormatToggle open={formatting} />
        <button
          type="button"
          class="icon-button"
          aria-label="Insert emoji"
          title="Insert emoji (or type : and its name)"
          onClick={() => {
            picking.value = true;
          }}
        >
          <Icon name="smile" />
        </button>
        {editing ? null : <StickerButton roomId={room.id} returnFocus={() => area.current} />}
        {editing ? null : <InviteButton room={room} returnFocus={() => area.current} />}
        <button
          type="submit"
          class="primary send"
          disabled={
            tooLong(text.value) != null ||
            (editing
              ? !text.value.trim()
              : uploading || (!text.value.trim() && ready.length === 0 && later.length === 0))
          }
        >
          {editing ? "Save" : "Send"}
        </button>
      </div>
      {longPaste.value != null ? (
        <LongPasteOffer
          length={longPaste.value.length}
          onAttach={() => attachAsFile(longPaste.peek() ?? "")}
          onCancel={() => {
            longPaste.value = null;
          }}
        />
      ) : null}
      <LengthNote
        id="composer-length"
        text={text.value}
        onSendAsFile={
          editing
            ? undefined
            : () => {
                attachAsFile(text.peek());
                text.value = "";
              }
        }
      />
      <p id="composer-hint" class="composer-hint">
        Enter sends, Shift+Enter adds a line, ↑ edits your last message, :name suggests emoji, / lists bots' commands.
        **bold** ({mod}B), *italic* ({mod}I), `code`, ||spoiler||, &gt; quote.
      </p>
      {picking.value ? (
        <EmojiPicker
          title="Insert an emoji"
          onClose={() => {
            picking.value = false;
          }}
          onPick={(emoji) => {
            insert(emoji);
            picking.value = false;
          }}
          returnFocus={() => area.current}
        />
      ) : null}
    </form>
  );
}
