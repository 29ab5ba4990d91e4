/**
 * The client's state: signals for the user, blocks and contacts; the stream, whose events are
 * applied here, each to the room it names (room-state.ts), so a room view only ever sees its
 * own room's events. The room list (room-list.ts), notifications (notification-state.ts) and
 * status line (status.ts) are re-exported.
 */
import { batch, signal } from "@preact/signals";
import { api, onSession, refresh } from "./api.ts";
import { applyCommandReply, commandsChanged } from "./command-state.ts";
import { customEmojiChanged } from "./custom-emoji.ts";
import { describeError } from "./errors.ts";
import { noteMembership } from "./membership-lines.tsx";
import { applyMessageChange } from "./message-events.ts";
import {
  loadNotifications,
  notifications,
  notificationsAtEnd,
  notificationsLoaded,
  notify,
  readNotificationsOf,
  unreadNotifications,
} from "./notification-state.ts";
import { applyProfile } from "./profiles.ts";
import { loadRooms, rooms, roomsLoaded, updateRoom } from "./room-list.ts";
import { deliver, presence, roomState, roomStates } from "./room-state.ts";
import { navigate } from "./router.ts";
import { attempt, say } from "./status.ts";
import { applyStickerEvent, reloadStickerPacks } from "./sticker-state.ts";
import { Stream } from "./stream.ts";
import type { Actor, AppNotification, Contacts, Member, Message, Room, StreamEvent, User } from "./types.ts";

export {
  describeNotification,
  enableNotifications,
  loadNotifications,
  markNotificationsRead,
  notificationPermission,
  notifications,
  notificationsAtEnd,
  notificationsEnabled,
  notificationsLoaded,
  openNotification,
  unreadNotifications,
} from "./notification-state.ts";
export { jumpRequest, loadRooms, putRoom, rooms, roomsLoaded, sortedRooms, totalUnread } from "./room-list.ts";
export { discardSend, presence, RoomState, retrySend, roomState, sendMessage } from "./room-state.ts";
export { attempt, say, toast } from "./status.ts";

export const me = signal<User | null>(null);
/** `loading` until the first refresh answers. */
export const authState = signal<"loading" | "signed-out" | "signed-in">("loading");
/** The room on screen (null elsewhere), for unread counting and notifications. */
export const activeRoomId = signal<string | null>(null);
/** Whether the active room's view is scrolled to its newest message. */
export const atBottom = signal(true);

/** What the page is (a room's name, "Settings"); the tab's title adds the unread count. */
export const pageTitle = signal("");

/** Actor ids we block: their messages show collapsed. Null until the list is loaded. */
export const blocked = signal<Set<string> | null>(null);

/** Contacts and pending requests; null until loaded. */
export const contacts = signal<Contacts | null>(null);

/**
 * Reports that reached this user's queue (`report.created`) since the queue was last looked
 * at, and a tick at every change of one (`report.updated` too), for the queue to reload.
 */
export const newReports = signal(0);
export const reportsChanged = signal(0);

/** Whether a message's author is blocked by us (live messages have no `hidden` mark). */
export function isHidden(message: Message): boolean {
  const list = blocked.value;
  if (list == null) return message.hidden === true;
  return message.author != null && list.has(message.author.id);
}

/** Whether a message mentions the signed-in user (the server links mentions to the actor URL). */
function mentionsMe(message: Message): boolean {
  const user = me.peek();
  if (!user || !message.html) return false;
  return message.html.includes(`href="${user.url}"`) || /(^|\W)@room\b/.test(message.content);
}

const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

function applyEvent(event: StreamEvent): void {
  const data = event.data ?? {};
  const roomId = event.roomId ?? (typeof data.roomId === "string" ? data.roomId : undefined);
  const user = me.peek();
  if (roomId && /^(member\.(joined|left)|room\.updated)$/.test(event.type)) {
    noteMembership(event, roomStates.get(roomId)?.members.peek());
  }
  if (roomId && applyMessageChange(event, roomId, user?.id)) return;
  switch (event.type) {
    case "message.created":
    case "message.updated": {
      const message = data.message as Message | undefined;
      if (!message || !roomId) return;
      const state = roomState(roomId);
      state.upsert(message, message.author?.id === user?.id);
      if (event.type === "message.updated") return;
      const mine = message.author?.id === user?.id;
      const seen = activeRoomId.peek() === roomId && atBottom.peek() && document.visibilityState === "visible";
      const mention = !mine && mentionsMe(message) && !(message.author && blocked.peek()?.has(message.author.id));
      updateRoom(roomId, (r) => ({
        lastSeq: Math.max(r.lastSeq, message.seq),
        unread: mine || seen ? r.unread : r.unread + 1,
        mentions: mention && !seen ? r.mentions + 1 : r.mentions,
      }));
      // A message ends its author's typing notice.
      if (message.author) clearTyping(roomId, message.author.id);
      return;
    }
    case "emoji.updated":
      customEmojiChanged();
      return;
    case "member.joined":
    case "member.updated": {
      const member = data.member as Member | undefined;
      if (!member || !roomId) return;
      const state = roomState(roomId);
      const list = state.members.peek();
      if (list) state.members.value = [...list.filter((m) => m.actor.id !== member.actor.id), member];
      // A newcomer's presence was not ours to see before they joined: ask for it.
      if (list && event.type === "member.joined" && presence.peek()[member.actor.id] == null) {
        void state.loadMembers();
      }
      if (member.actor.id === user?.id) void loadRooms();
      // A bot's commands are offered where it is a member.
      if (event.type === "member.joined" && member.actor.bot) commandsChanged();
      return;
    }
    case "member.left": {
      if (!roomId || typeof data.actorId !== "string") return;
      commandsChanged();
      const state = roomState(roomId);
      const list = state.members.peek();
      if (list) state.members.value = list.filter((m) => m.actor.id !== data.actorId);
      if (data.actorId === user?.id) {
        rooms.value = rooms.peek().filter((r) => r.id !== roomId);
        state.reset();
        if (data.reason === "kicked") say("You were removed from the room.", true);
        if (data.reason === "banned") say("You were banned from the room.", true);
        void loadRooms();
      }
      return;
    }
    case "room.updated": {
      if (!roomId) return;
      updateRoom(roomId, (data.changes ?? {}) as Partial<Room>);
      return;
    }
    case "room.deleted": {
      if (!roomId) return;
      rooms.value = rooms.peek().filter((r) => r.id !== roomId);
      roomState(roomId).reset();
      if (activeRoomId.peek() === roomId) {
        say("This room was deleted.", true);
        navigate("/", true);
      }
      return;
    }
    case "read": {
      if (!roomId) return;
      // The room's copy says how far a member has read (read receipts), never back.
      if (typeof data.unread !== "number") {
        const members = roomStates.get(roomId)?.members;
        const seq = data.seq;
        if (members?.peek() == null || typeof data.actorId !== "string" || typeof seq !== "number") return;
        members.value =
          members
            .peek()
            ?.map((m) => (m.actor.id === data.actorId ? { ...m, readUpTo: Math.max(m.readUpTo ?? 0, seq) } : m)) ??
          null;
        return;
      }
      // The copy addressed to us carries our counts (another session of ours read the room).
      updateRoom(roomId, {
        unread: data.unread,
        mentions: typeof data.mentions === "number" ? data.mentions : 0,
        lastReadSeq: typeof data.seq === "number" ? data.seq : 0,
      });
      return;
    }
    case "room.notifications": {
      // Another session of ours changed how this room notifies us.
      const settings = data.notifications as Room["notifications"];
      if (typeof data.roomId === "string" && settings) updateRoom(data.roomId, { notifications: settings });
      return;
    }
    case "typing": {
      const actorId = data.actorId;
      if (!roomId || typeof actorId !== "string" || actorId === user?.id) return;
      if (data.typing === false) {
        clearTyping(roomId, actorId);
        return;
      }
      const timeout = typeof data.timeout === "number" ? data.timeout : 6000;
      const state = roomState(roomId);
      state.typing.value = { ...state.typing.peek(), [actorId]: Date.now() + timeout };
      const key = `${roomId}/${actorId}`;
      clearTimeout(typingTimers.get(key));
      typingTimers.set(
        key,
        setTimeout(() => clearTyping(roomId, actorId), timeout),
      );
      return;
    }
    case "notification": {
      const notification = data.notification as AppNotification | undefined;
      if (!notification || notifications.peek().some((n) => n.id === notification.id)) return;
      // Someone reading the room as it happens has seen it: it goes in the list already read.
      // (A report's outcome is about no message of the room: it is news even there.)
      const seen =
        notification.messageId != null &&
        notification.roomId != null &&
        activeRoomId.peek() === notification.roomId &&
        atBottom.peek() &&
        document.visibilityState === "visible";
      if (seen && !notification.read) {
        notifications.value = [{ ...notification, read: true }, ...notifications.peek()];
        void api("POST", "/notifications/read", { ids: [notification.id] }).catch(() => {});
        return;
      }
      batch(() => {
        notifications.value = [notification, ...notifications.peek()];
        if (!notification.read) unreadNotifications.value = unreadNotifications.peek() + 1;
      });
      if (document.visibilityState === "hidden") notify(notification);
      return;
    }
    case "contact.updated": {
      void loadContacts();
      // An answered request's notification was marked read with it.
      if (data.state !== "incoming") void loadNotifications();
      return;
    }
    case "block.updated": {
      const actor = data.actor as Actor | null;
      const list = blocked.peek();
      if (!actor || list == null) return void loadBlocks();
      const next = new Set(list);
      if (data.blocked) next.add(actor.id);
      else next.delete(actor.id);
      blocked.value = next;
      return;
    }
    case "stickers.updated": {
      applyStickerEvent(data);
      return;
    }
    case "profile.updated": {
      if (data.actor) applyProfile(data.actor as Actor, { me, contacts });
      return;
    }
    case "commands.updated":
      commandsChanged();
      return;
    case "command.reply":
      applyCommandReply(data);
      return;
    case "report.created":
    case "report.updated": {
      batch(() => {
        if (event.type === "report.created") newReports.value = newReports.peek() + 1;
        reportsChanged.value = reportsChanged.peek() + 1;
      });
      return;
    }
    case "presence": {
      if (typeof data.actorId !== "string" || (data.status !== "online" && data.status !== "offline")) return;
      presence.value = { ...presence.peek(), [data.actorId]: data.status };
      return;
    }
  }
}

function clearTyping(roomId: string, actorId: string): void {
  const state = roomState(roomId);
  if (!(actorId in state.typing.peek())) return;
  const next = { ...state.typing.peek() };
  delete next[actorId];
  state.typing.value = next;
}

/** Loads the block list (actor ids), which hides blocked authors' messages. */
export async function loadBlocks(): Promise<void> {
  try {
    const { blocks } = await api<{ blocks: { actor: Actor }[] }>("GET", "/blocks");
    blocked.value = new Set(blocks.map((b) => b.actor.id));
  } catch {
    // history still carries `hidden`; live messages show until the list loads
  }
}

/** Loads contacts and pending requests. */
export async function loadContacts(): Promise<void> {
  try {
    contacts.value = await api<Contacts>("GET", "/contacts");
  } catch (error) {
    say(describeError(error), true);
  }
}

/** Sets how a room notifies us (level and mute); the room list updates at once. */
export async function setRoomNotifications(
  room: Room,
  change: { notifications?: "all" | "mentions" | "none" | "default"; muted?: boolean },
): Promise<boolean> {
  return attempt(async () => {
    const member = await api<Member & { notifications?: Room["notifications"] }>(
      "PATCH",
      `/rooms/${room.id}/members/me`,
      change,
    );
    if (member.notifications) updateRoom(room.id, { notifications: member.notifications });
  });
}

export const stream = new Stream({
  event: applyEvent,
  ready(resumed) {
    // Back online: what failed for want of a connection goes again, under the same txnId.
    for (const state of roomStates.values()) {
      for (const p of state.pending.peek()) if (p.state === "failed" && p.retryable) void deliver(p);
    }
    if (resumed) {
      // Nothing was missed, but what failed to load while the server was away loads now.
      if (!roomsLoaded.peek()) void loadRooms();
      const active = activeRoomId.peek();
      const state = active ? roomStates.get(active) : undefined;
      if (state && !state.loaded.peek() && state.error.peek()) void state.load();
      if (state && state.members.peek() == null) void state.loadMembers();
      return;
    }
    // First connection, or events were missed beyond replay: reload what is shown.
    void loadRooms();
    void loadNotifications();
    void loadBlocks();
    void loadContacts();
    reloadStickerPacks();
    for (const state of roomStates.values()) {
      const wasLoaded = state.loaded.peek();
      const hadMembers = state.members.peek() != null;
      const hadPins = state.pins.peek() != null;
      state.reset();
      if (wasLoaded && activeRoomId.peek() === state.roomId) void state.load();
      if (hadMembers && activeRoomId.peek() === state.roomId) void state.loadMembers();
      if (hadPins && activeRoomId.peek() === state.roomId) void state.loadPins();
    }
  },
});

onSession((user) => {
  batch(() => {
    me.value = user;
    authState.value = user ? "signed-in" : "signed-out";
  });
  if (user) stream.start();
  else {
    stream.stop();
    rooms.value = [];
    roomsLoaded.value = false;
    roomStates.clear();
    notifications.value = [];
    unreadNotifications.value = 0;
    notificationsLoaded.value = false;
    notificationsAtEnd.value = false;
    blocked.value = null;
    contacts.value = null;
  }
});

/** Restores the session from the refresh cookie, if there is one. */
export async function boot(): Promise<void> {
  try {
    const session = await refresh();
    if (!session) authState.value = "signed-out";
  } catch {
    // The server is down: show sign-in, and try again shortly.
    authState.value = "signed-out";
    say("The server cannot be reached; retrying…", true);
    setTimeout(() => void boot(), 3000);
  }
}

const readTimers = new Map<string, ReturnType<typeof setTimeout>>();

/** Moves the read marker to `seq` (debounced), when it moves forward. */
export function markRead(roomId: string, seq: number): void {
  const room = rooms.peek().find((r) => r.id === roomId);
  if (!room || (room.lastReadSeq >= seq && room.unread === 0 && room.mentions === 0)) return;
  updateRoom(roomId, { unread: 0, mentions: 0, lastReadSeq: Math.max(room.lastReadSeq, seq) });
  readNotificationsOf(roomId, seq);
  clearTimeout(readTimers.get(roomId));
  readTimers.set(
    roomId,
    setTimeout(() => {
      void api("POST", `/rooms/${roomId}/read`, { seq }).catch(() => {});
    }, 400),
  );
}
