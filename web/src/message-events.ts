/**
 * Stream events that change one message where it is shown (its thread's unread count, its
 * deletion, pin, link cards, reactions and invitation answers), applied to its room's state.
 * @module
 */
import { roomState } from "./room-state.ts";
import type { Actor, Invitation, Pin, PreviewCard, Reaction, StreamEvent } from "./types.ts";

function reactionsWith(list: Reaction[], emoji: string, delta: 1 | -1, mine: boolean, url?: string): Reaction[] {
  const found = list.find((r) => r.emoji === emoji);
  if (!found) return delta > 0 ? [...list, { emoji, count: 1, me: mine, ...(url ? { url } : {}) }] : list;
  return list
    .map((r) => (r.emoji === emoji ? { ...r, count: r.count + delta, me: mine ? delta > 0 : r.me } : r))
    .filter((r) => r.count > 0);
}

/**
 * Applies a stream event that changes one message of a room.
 * @returns Whether the event was one of those (handled, or refused as malformed).
 */
export function applyMessageChange(event: StreamEvent, roomId: string, userId: string | undefined): boolean {
  const data = event.data ?? {};
  switch (event.type) {
    case "thread.read": {
      if (typeof data.rootId !== "string" || typeof data.unread !== "number") return true;
      const unread = data.unread;
      roomState(roomId).patch(data.rootId, (m) => (m.thread ? { ...m, thread: { ...m.thread, unread } } : m));
      return true;
    }
    case "message.deleted": {
      if (typeof data.id !== "string") return true;
      roomState(roomId).patch(data.id, (m) => ({
        ...m,
        content: "",
        html: "",
        reactions: [],
        deletedAt: new Date().toISOString(),
      }));
      return true;
    }
    case "pins": {
      if (typeof data.messageId !== "string") return true;
      roomState(roomId).applyPin({
        messageId: data.messageId,
        pinned: data.pinned === true,
        pin: data.pin as Pin | undefined,
      });
      return true;
    }
    case "message.previews": {
      // The server's cards for a message, once fetched (or none, once its author removed them).
      if (typeof data.messageId !== "string" || !Array.isArray(data.previews)) return true;
      const previews = data.previews as PreviewCard[];
      roomState(roomId).patch(data.messageId, (m) => ({ ...m, previews }));
      return true;
    }
    case "invitation.updated": {
      // Someone answered an invitation: the card shows who, live, for everyone in the room.
      if (typeof data.messageId !== "string" || typeof data.invitation !== "object" || data.invitation == null)
        return true;
      const invitation = data.invitation as Invitation;
      roomState(roomId).patch(data.messageId, (m) => ({ ...m, invitation }));
      return true;
    }
    case "reaction.added":
    case "reaction.removed": {
      if (typeof data.messageId !== "string" || typeof data.emoji !== "string") return true;
      const actor = data.actor as Actor | null;
      const emoji = data.emoji;
      const mine = actor != null && actor.id === userId;
      roomState(roomId).patch(data.messageId, (m) => ({
        ...m,
        reactions: reactionsWith(
          m.reactions,
          emoji,
          event.type === "reaction.added" ? 1 : -1,
          mine,
          typeof data.url === "string" ? data.url : undefined,
        ),
      }));
      return true;
    }
  }
  return false;
}
