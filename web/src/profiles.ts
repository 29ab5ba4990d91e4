/**
 * Live profiles: a `profile.updated` event (someone's name, colour or avatar changed) applied to
 * every view that shows them: messages and replies, thread avatars, member lists, pins, the
 * room list's direct rooms (named and pictured by their people), contacts, and the signed-in
 * user's own profile in their other tabs.
 */
import { batch, type Signal, signal } from "@preact/signals";
import { rooms } from "./room-list.ts";
import { roomStates } from "./room-state.ts";
import type { Actor, Contacts, Message, Room, User } from "./types.ts";

/** The newest profile the stream told of, by actor id: pages that fetched a profile refresh on it. */
export const liveProfiles = signal<Record<string, Actor>>({});

const withActor = <T extends { actor: Actor }>(list: T[], actor: Actor): T[] =>
  list.some((x) => x.actor.id === actor.id) ? list.map((x) => (x.actor.id === actor.id ? { ...x, actor } : x)) : list;

function inMessage(m: Message, actor: Actor): Message {
  let next = m;
  if (m.author?.id === actor.id) next = { ...next, author: actor };
  if (m.replyTo?.author?.id === actor.id) next = { ...next, replyTo: { ...m.replyTo, author: actor } };
  if (m.thread?.participants.some((p) => p.id === actor.id)) {
    const participants = m.thread.participants.map((p) => (p.id === actor.id ? actor : p));
    next = { ...next, thread: { ...m.thread, participants } };
  }
  return next;
}

/** A direct room as it now shows: its others' new profile, and the name made of them unless someone named it. */
function inRoom(room: Room, actor: Actor): Room {
  const others = room.others ?? [];
  if (!room.direct || !others.some((o) => o.id === actor.id)) return room;
  const before = others.map((o) => o.displayName).join(", ");
  const after = others.map((o) => (o.id === actor.id ? actor : o));
  const picture = others.length === 1 && room.avatarUrl === (others[0]?.avatarUrl ?? null);
  return {
    ...room,
    others: after,
    name: room.name === before ? after.map((o) => o.displayName).join(", ") : room.name,
    avatarUrl: picture ? actor.avatarUrl : room.avatarUrl,
  };
}

/** Applies someone's new profile everywhere it is shown. */
export function applyProfile(actor: Actor, own: { me: Signal<User | null>; contacts: Signal<Contacts | null> }): void {
  batch(() => {
    liveProfiles.value = { ...liveProfiles.peek(), [actor.id]: actor };
    const user = own.me.peek();
    if (user?.id === actor.id) {
      own.me.value = { ...user, displayName: actor.displayName, avatarUrl: actor.avatarUrl, color: actor.color };
    }
    for (const state of roomStates.values()) {
      const messages = state.messages.peek();
      const changed = messages.map((m) => inMessage(m, actor));
      if (changed.some((m, i) => m !== messages[i])) state.messages.value = changed;
      const members = state.members.peek();
      if (members) state.members.value = withActor(members, actor);
      const pins = state.pins.peek();
      if (pins?.some((p) => p.message.author?.id === actor.id || p.pinnedBy?.id === actor.id)) {
        state.pins.value = pins.map((p) => ({
          ...p,
          message: inMessage(p.message, actor),
          pinnedBy: p.pinnedBy?.id === actor.id ? actor : p.pinnedBy,
        }));
      }
    }
    const list = rooms.peek();
    const next = list.map((r) => inRoom(r, actor));
    if (next.some((r, i) => r !== list[i])) rooms.value = next;
    const book = own.contacts.peek();
    if (book) {
      own.contacts.value = {
        contacts: withActor(book.contacts, actor),
        incoming: withActor(book.incoming, actor),
        outgoing: withActor(book.outgoing, actor),
      };
    }
  });
}
