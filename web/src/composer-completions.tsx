/**
 * The composer's completions: bots' commands after a leading `/` (slash-commands.tsx), people
 * after `@`, emoji after `:`. Returns the list that is open, if any.
 */
import type { Signal } from "@preact/signals";
import { useComputed } from "@preact/signals";
import type { RefObject } from "preact";
import { useEffect } from "preact/hooks";
import { type Completion, replaceBeforeCaret } from "./completion.tsx";
import { emojiIndex, loadEmoji, rememberEmoji, skinTone } from "./emoji.ts";
import { emojiText, type ShortcodeMatch } from "./emoji-index.ts";
import { memberName, Name } from "./names.tsx";
import { useCommandCompletion } from "./slash-commands.tsx";
import type { RoomState } from "./store.ts";
import type { Member, Room, User } from "./types.ts";
import { Avatar } from "./ui.tsx";

export function useComposerCompletions(props: {
  room: Room;
  state: RoomState;
  text: Signal<string>;
  caret: Signal<number>;
  dismissed: Signal<string | null>;
  area: RefObject<HTMLTextAreaElement | null>;
  user: User | null | undefined;
  localHost: string;
}): Completion<unknown> | null {
  const { room, state, text, caret, dismissed, area, user, localHost } = props;
  const query = useComputed(() => {
    const before = text.value.slice(0, caret.value);
    const m = /(?:^|\s)@([A-Za-z0-9_.@-]{0,64})$/.exec(before);
    return m ? (m[1] as string).toLowerCase() : null;
  });
  // `:smi` at the start of a word (not `12:30`, not `http://`), two characters at least.
  const emojiQuery = useComputed(() => {
    const m = /(?:^|[\s([{"'])(?::([A-Za-z0-9_+-]{2,64}))$/.exec(text.value.slice(0, caret.value));
    return m ? (m[1] as string) : null;
  });
  useEffect(() => {
    if (emojiQuery.value != null) loadEmoji().catch(() => {});
  }, [emojiQuery.value]);
  const emojiMatches = useComputed(() => {
    const q = emojiQuery.value;
    if (q == null || dismissed.value === text.value) return [];
    return emojiIndex.value?.complete(q, 8) ?? [];
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

  const mentionList: Completion<Member> = {
    id: "mention-list",
    label: "Mention someone",
    items: suggestions.value,
    key: (m) => m.actor.id,
    render: (m) => (
      <>
        <Avatar id={m.actor.id} name={m.actor.displayName} url={m.actor.avatarUrl} size="s" color={m.color} />
        <Name text={memberName(m)} /> <Name class="muted small" text={`@${mentionOf(m)}`} />
      </>
    ),
    choose(member) {
      if (area.current) replaceBeforeCaret(area.current, text, caret, /@[A-Za-z0-9_.@-]*$/, `@${mentionOf(member)} `);
    },
  };
  const emojiList: Completion<ShortcodeMatch> = {
    id: "emoji-list",
    label: "Emoji",
    items: emojiMatches.value,
    key: (m) => m.entry.id,
    render: ({ entry, shortcode }) => (
      <>
        <span class="suggestion-emoji" aria-hidden="true">
          {entry.kind === "image" ? <img src={entry.url} alt="" class="emoji-image" /> : emojiText(entry, skinTone())}
        </span>
        <span>:{shortcode}:</span> <span class="muted small">{entry.label}</span>
      </>
    ),
    choose({ entry }) {
      const emoji = emojiText(entry, skinTone());
      if (area.current) replaceBeforeCaret(area.current, text, caret, /:[A-Za-z0-9_+-]*$/, emoji);
      rememberEmoji(user?.id, emoji);
    },
  };
  const commandList = useCommandCompletion(room.id, text, caret, dismissed, area);
  const lists = [commandList, mentionList, emojiList] as Completion<unknown>[];
  return lists.find((list) => list.items.length > 0) ?? null;
}
