/** Read receipts: under the last message each member has read, their avatars ("Seen by"). */

import { memberName } from "./names.tsx";
import type { Member, Message } from "./types.ts";
import { Avatar } from "./ui.tsx";

/** Avatars shown before the rest are counted ("+3"). */
const shown = 5;

/**
 * Who has read up to each loaded message and no further, by message id: every member but the
 * reader, placed at the last message they have read among those loaded (none above the oldest).
 */
export function readersByMessage(
  messages: readonly Message[],
  members: readonly Member[] | null,
  meId: string | undefined,
): Map<string, Member[]> {
  const byMessage = new Map<string, Member[]>();
  const first = messages[0];
  if (members == null || first == null) return byMessage;
  for (const member of members) {
    const upTo = member.readUpTo ?? 0;
    if (member.actor.id === meId || upTo < first.seq) continue;
    // The last loaded message at or before the position (messages are in order).
    let lo = 0;
    let hi = messages.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((messages[mid] as Message).seq <= upTo) lo = mid;
      else hi = mid - 1;
    }
    const at = messages[lo] as Message;
    byMessage.set(at.id, [...(byMessage.get(at.id) ?? []), member]);
  }
  return byMessage;
}

export function ReadReceipts(props: { readers: readonly Member[] }) {
  const names = props.readers.map(memberName);
  const label = `Seen by ${names.join(", ")}`;
  return (
    <li class="read-receipts" aria-label={label} title={label}>
      {props.readers.slice(0, shown).map((m) => (
        <Avatar
          key={m.actor.id}
          id={m.actor.id}
          name={memberName(m)}
          url={m.actor.avatarUrl}
          color={m.color}
          size="s"
        />
      ))}
      {props.readers.length > shown ? <span class="read-more">+{props.readers.length - shown}</span> : null}
    </li>
  );
}
