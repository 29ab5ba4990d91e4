/**
 * The client's state: signals for the user, the room list, and one state object per room
 * (messages by seq, pending sends, members, typing). Stream events are applied here, each to
 * the room it names, so a room view only ever sees its own room's events.
 */
import { batch, computed, signal } from "@preact/signals";
import { ApiError, api, onSession, refresh } from "./api.ts";
import { describeError } from "./errors.ts";
import { type Phrase, phraseText } from "./names.tsx";
import { navigate } from "./router.ts";
import { Stream } from "./stream.ts";
import type {
  Actor,
  AppNotification,
  Attachment,
  Contacts,
  Member,
  Message,
  PendingMessage,
  Reaction,
  Room,
  StreamEvent,
  User,
} from "./types.ts";

export const me = signal<User | null>(null);
/** `loading` until the first refresh answers. */
export const authState = signal<"loading" | "signed-out" | "signed-in">("loading");
export const rooms = signal<Room[]>([]);
export const roomsLoaded = signal(false);
export const presence = signal<Record<string, "online" | "offline">>({});
/** The room on screen (null elsewhere), for unread counting and notifications. */
export const activeRoomId = signal<string | null>(null);
/** Whether the active room's view is scrolled to its newest message. */
export const atBottom = signal(true);
/** Short messages for the user (saved, copied, failed), shown in a live region. */
export const toast = signal<{ text: string; error?: boolean; id: number } | null>(null);

/** What the page is (a room's name, "Settings"); the tab's title adds the unread count. */
export const pageTitle = signal("");

/** Unread messages across all rooms that are not muted, for the tab's title. */
export const totalUnread = computed(() =>
  rooms.value.reduce((sum, r) => sum + (r.notifications?.muted ? 0 : r.unread), 0),
);

/** The newest notifications (newest first) and the count of unread ones. */
export const notifications = signal<AppNotification[]>([]);
export const unreadNotifications = signal(0);
/** Whether the first page of notifications is in; whether the oldest one is. */
export const notificationsLoaded = signal(false);
export const notificationsAtEnd = signal(false);

/** A message to scroll to once its room is shown (from a notification). */
export const jumpRequest = signal<{ roomId: string; messageId: string } | null>(null);

/** Actor ids we block: their messages show collapsed. Null until the list is loaded. */
export const blocked = signal<Set<string> | null>(null);

/** Contacts and pending requests; null until loaded. */
export const contacts = signal<Contacts | null>(null);

/** Whether a message's author is blocked by us (live messages have no `hidden` mark). */
export function isHidden(message: Message): boolean {
  const list = blocked.value;
  if (list == null) return message.hidden === true;
  return message.author != null && list.has(message.author.id);
}

export const sortedRooms = computed(() =>
  [...rooms.value].sort((a, b) => b.lastSeq - a.lastSeq || a.name.localeCompare(b.name)),
);

/** Shows a short status message (announced to screen readers). */
export function say(text: string, error = false): void {
  toast.value = { text, error, id: Date.now() };
}

export class RoomState {
  readonly messages = signal<Message[]>([]);
  readonly pending = signal<PendingMessage[]>([]);
  readonly members = signal<Member[] | null>(null);
  /** Who is typing: actor id → when the notice runs out. */
  readonly typing = signal<Record<string, number>>({});
  /** Whether the newest page has been loaded (events are applied only then). */
  readonly loaded = signal(false);
  /** Whether the oldest message is loaded. */
  readonly atStart = signal(false);
  readonly loadingOlder = signal(false);
  readonly error = signal<string | null>(null);
  #loading: Promise<void> | null = null;

  constructor(readonly roomId: string) {}

  /** Loads the newest page (once; again after a resync). */
  load(): Promise<void> {
    if (this.loaded.peek()) return Promise.resolve();
    this.#loading ??= api<{ messages: Message[] }>("GET", `/rooms/${this.roomId}/messages?limit=50`)
      .then(({ messages }) => {
        batch(() => {
          this.messages.value = merge(this.messages.peek(), messages);
          this.atStart.value = messages.length < 50;
          this.loaded.value = true;
          this.error.value = null;
        });
      })
      .catch((error) => {
        this.error.value = describeError(error);
      })
      .finally(() => {
        this.#loading = null;
      });
    return this.#loading;
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder.peek() || this.atStart.peek()) return;
    const oldest = this.messages.peek()[0];
    if (!oldest) return;
    this.loadingOlder.value = true;
    try {
      const { messages } = await api<{ messages: Message[] }>(
        "GET",
        `/rooms/${this.roomId}/messages?before=${oldest.seq}&limit=50`,
      );
      batch(() => {
        this.messages.value = merge(messages, this.messages.peek());
        if (messages.length < 50) this.atStart.value = true;
      });
    } catch (error) {
      say(describeError(error), true);
    } finally {
      this.loadingOlder.value = false;
    }
  }

  async loadMembers(): Promise<void> {
    try {
      const { members } = await api<{ members: Member[] }>("GET", `/rooms/${this.roomId}/members`);
      this.members.value = members;
      const known = { ...presence.peek() };
      for (const m of members) if (m.presence) known[m.actor.id] = m.presence;
      presence.value = known;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "room_not_found")) say(describeError(error), true);
    }
  }

  /** Forgets everything loaded (after a resync or a membership change). */
  reset(): void {
    batch(() => {
      this.messages.value = [];
      this.loaded.value = false;
      this.atStart.value = false;
      this.members.value = null;
    });
  }

  upsert(message: Message): void {
    // A send to a remote room waits as pending until it comes back numbered.
    if (message.pending) return;
    const waiting = this.pending.peek();
    if (waiting.some((p) => p.messageId === message.id)) {
      this.pending.value = waiting.filter((p) => p.messageId !== message.id);
    }
    if (!this.loaded.peek()) return;
    this.messages.value = merge(this.messages.peek(), [message]);
  }

  patch(id: string, change: (message: Message) => Message): void {
    const list = this.messages.peek();
    const i = list.findIndex((m) => m.id === id);
    if (i < 0) return;
    const next = list.slice();
    next[i] = change(list[i] as Message);
    this.messages.value = next;
  }
}

/** Merges two seq-ordered lists of messages; later copies of an id win. */
function merge(a: Message[], b: Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

const roomStates = new Map<string, RoomState>();

/** The state of one room, created on first use. */
export function roomState(roomId: string): RoomState {
  let state = roomStates.get(roomId);
  if (!state) {
    state = new RoomState(roomId);
    roomStates.set(roomId, state);
  }
  return state;
}

/** Loads the room list. */
export async function loadRooms(): Promise<void> {
  try {
    const { rooms: list } = await api<{ rooms: Room[] }>("GET", "/rooms");
    const pending = rooms.peek().filter((r) => r.membership === "pending" && !list.some((l) => l.id === r.id));
    rooms.value = [...list, ...pending];
    roomsLoaded.value = true;
  } catch (error) {
    say(describeError(error), true);
  }
}

/** Adds or replaces a room in the list. */
export function putRoom(room: Room): void {
  const list = rooms.peek().filter((r) => r.id !== room.id);
  rooms.value = [...list, room];
}

function updateRoom(roomId: string, change: Partial<Room> | ((room: Room) => Partial<Room>)): void {
  rooms.value = rooms
    .peek()
    .map((r) => (r.id === roomId ? { ...r, ...(typeof change === "function" ? change(r) : change) } : r));
}

/** Whether a message mentions the signed-in user (the server links mentions to the actor URL). */
function mentionsMe(message: Message): boolean {
  const user = me.peek();
  if (!user || !message.html) return false;
  return message.html.includes(`href="${user.url}"`) || /(^|\W)@room\b/.test(message.content);
}

function reactionsWith(list: Reaction[], emoji: string, delta: 1 | -1, mine: boolean): Reaction[] {
  const found = list.find((r) => r.emoji === emoji);
  if (!found) return delta > 0 ? [...list, { emoji, count: 1, me: mine }] : list;
  return list
    .map((r) => (r.emoji === emoji ? { ...r, count: r.count + delta, me: mine ? delta > 0 : r.me } : r))
    .filter((r) => r.count > 0);
}

const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

function applyEvent(event: StreamEvent): void {
  const data = event.data ?? {};
  const roomId = event.roomId ?? (typeof data.roomId === "string" ? data.roomId : undefined);
  const user = me.peek();
  switch (event.type) {
    case "message.created":
    case "message.updated": {
      const message = data.message as Message | undefined;
      if (!message || !roomId) return;
      const state = roomState(roomId);
      state.upsert(message);
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
    case "message.deleted": {
      if (!roomId || typeof data.id !== "string") return;
      roomState(roomId).patch(data.id, (m) => ({
        ...m,
        content: "",
        html: "",
        reactions: [],
        deletedAt: new Date().toISOString(),
      }));
      return;
    }
    case "reaction.added":
    case "reaction.removed": {
      if (!roomId || typeof data.messageId !== "string" || typeof data.emoji !== "string") return;
      const actor = data.actor as Actor | null;
      const emoji = data.emoji;
      const mine = actor != null && actor.id === user?.id;
      roomState(roomId).patch(data.messageId, (m) => ({
        ...m,
        reactions: reactionsWith(m.reactions, emoji, event.type === "reaction.added" ? 1 : -1, mine),
      }));
      return;
    }
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
      return;
    }
    case "member.left": {
      if (!roomId || typeof data.actorId !== "string") return;
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
      const seen =
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

export const notificationsEnabled = signal(typeof Notification === "function" && Notification.permission === "granted");

/** The browser's answer so far: `default` until the user is asked. */
export const notificationPermission = signal<NotificationPermission>(
  typeof Notification === "function" ? Notification.permission : "denied",
);

/** Asks for permission to show notifications for mentions while the tab is hidden. */
export async function enableNotifications(): Promise<void> {
  if (typeof Notification !== "function") return say("This browser cannot show notifications.", true);
  const answer = await Notification.requestPermission();
  notificationPermission.value = answer;
  notificationsEnabled.value = answer === "granted";
  say(
    answer === "granted" ? "You will be notified of mentions." : "Notifications were not allowed.",
    answer !== "granted",
  );
}

/** What a notification says: a title with the names in it kept apart, and a line. */
export function describeNotification(n: AppNotification): { title: Phrase; body: string } {
  const who = { name: n.actor?.displayName || n.actor?.handle || "Someone" };
  const roomName = rooms.peek().find((r) => r.id === n.roomId)?.name ?? (n.data.roomName as string | undefined);
  const inRoom = roomName ? [" in ", { name: roomName }] : [];
  const snippet = typeof n.data.snippet === "string" ? n.data.snippet : "";
  switch (n.type) {
    case "mention":
      return { title: [who, " mentioned you", ...inRoom], body: snippet };
    case "reply":
      return { title: [who, " replied to you", ...inRoom], body: snippet };
    case "message":
      return { title: [who, ...inRoom], body: snippet };
    case "invite":
      return { title: [who, " invited you to ", roomName ? { name: roomName } : "a room"], body: "" };
    case "contact_request":
      return { title: [who, " wants to add you as a contact"], body: n.actor?.handle ?? "" };
  }
}

function notify(n: AppNotification): void {
  if (!notificationsEnabled.peek() || typeof Notification !== "function" || Notification.permission !== "granted")
    return;
  const { title, body } = describeNotification(n);
  // Notification text is plain text: nothing in it is interpreted as markup.
  const shown = new Notification(phraseText(title), { body: body.slice(0, 200), tag: n.messageId ?? n.id });
  shown.onclick = () => {
    focus();
    void openNotification(n);
    shown.close();
  };
}

/** Loads the newest notifications, or the page before the oldest loaded (`older`). */
export async function loadNotifications(older = false): Promise<void> {
  const list = notifications.peek();
  const before = older ? list.at(-1)?.id : undefined;
  try {
    const page = await api<{ notifications: AppNotification[]; unread: number }>(
      "GET",
      `/notifications?limit=30${before ? `&before=${encodeURIComponent(before)}` : ""}`,
    );
    batch(() => {
      const byId = new Map<string, AppNotification>();
      for (const n of older ? [...list, ...page.notifications] : [...page.notifications, ...list]) {
        // A mark-read still on its way must not be undone by an answer from before it.
        const seen = byId.get(n.id);
        if (!seen) byId.set(n.id, n);
        else if (n.read && !seen.read) byId.set(n.id, { ...seen, read: true });
      }
      notifications.value = [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const readHere = page.notifications.filter((n) => !n.read && byId.get(n.id)?.read).length;
      unreadNotifications.value = Math.max(0, page.unread - readHere);
      notificationsLoaded.value = true;
      if (older || !notificationsAtEnd.peek()) notificationsAtEnd.value = page.notifications.length < 30;
    });
  } catch (error) {
    say(describeError(error), true);
  }
}

/** Marks some notifications read, or all of them when `ids` is absent. */
export async function markNotificationsRead(ids?: string[]): Promise<void> {
  const list = notifications.peek();
  const targets = ids ? new Set(ids) : null;
  const newlyRead = list.filter((n) => !n.read && (!targets || targets.has(n.id))).length;
  batch(() => {
    notifications.value = list.map((n) => (!targets || targets.has(n.id) ? { ...n, read: true } : n));
    unreadNotifications.value = targets ? Math.max(0, unreadNotifications.peek() - newlyRead) : 0;
  });
  await attempt(() => api("POST", "/notifications/read", ids ? { ids } : {}));
}

/** Marks read the unread notifications of a room's messages up to `seq` (the room was read). */
function readNotificationsOf(roomId: string, seq: number): void {
  const ids = notifications
    .peek()
    .filter((n) => !n.read && n.roomId === roomId && n.messageId != null && Number(n.data.seq ?? 0) <= seq)
    .map((n) => n.id);
  if (ids.length > 0) void markNotificationsRead(ids);
}

/** Goes where a notification points: the message, the invite, the contacts page. */
export async function openNotification(n: AppNotification): Promise<void> {
  if (!n.read) void markNotificationsRead([n.id]);
  if (n.type === "contact_request") return navigate("/contacts");
  if (n.type === "invite") {
    if (n.roomId && rooms.peek().some((r) => r.id === n.roomId && r.membership !== "pending")) {
      return navigate(`/rooms/${n.roomId}`);
    }
    if (typeof n.data.code === "string") return navigate(`/invite/${encodeURIComponent(n.data.code)}`);
    if (typeof n.data.url === "string") {
      const target = n.data.url;
      await attempt(async () => {
        const room = await api<Room>("POST", "/rooms/join", { target });
        putRoom(room);
        navigate(`/rooms/${room.id}`);
      });
    }
    return;
  }
  if (!n.roomId) return;
  if (n.messageId) jumpRequest.value = { roomId: n.roomId, messageId: n.messageId };
  navigate(`/rooms/${n.roomId}`);
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
    for (const state of roomStates.values()) {
      const wasLoaded = state.loaded.peek();
      const hadMembers = state.members.peek() != null;
      state.reset();
      if (wasLoaded && activeRoomId.peek() === state.roomId) void state.load();
      if (hadMembers && activeRoomId.peek() === state.roomId) void state.loadMembers();
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

function newTxnId(): string {
  return crypto.randomUUID();
}

async function deliver(pending: PendingMessage): Promise<void> {
  const state = roomState(pending.roomId);
  const setPending = (change: Partial<PendingMessage> | null) => {
    state.pending.value = state.pending
      .peek()
      .flatMap((p) => (p.txnId !== pending.txnId ? [p] : change ? [{ ...p, ...change }] : []));
  };
  setPending({ state: "sending", error: undefined });
  try {
    const message = await api<Message>("PUT", `/rooms/${pending.roomId}/messages/${pending.txnId}`, {
      content: pending.content,
      ...(pending.replyTo ? { replyTo: pending.replyTo.id } : {}),
      ...(pending.attachments?.length ? { attachments: pending.attachments.map((a) => a.id) } : {}),
    });
    if (message.pending) {
      // A room on another server numbers it; the stream brings it back (see upsert).
      const back = state.messages.peek().some((m) => m.id === message.id);
      setPending(back ? null : { messageId: message.id });
      return;
    }
    batch(() => {
      state.upsert(message);
      setPending(null);
    });
  } catch (error) {
    const retryable =
      error instanceof ApiError && (error.code === "network" || error.code === "rate_limited" || error.status >= 500);
    setPending({ state: "failed", error: describeError(error), retryable });
  }
}

/** Sends a message optimistically: it shows at once, and retries reuse its txnId. */
export function sendMessage(
  roomId: string,
  content: string,
  replyTo: Message | null,
  attachments: Attachment[] = [],
): void {
  const pending: PendingMessage = {
    txnId: newTxnId(),
    roomId,
    content,
    attachments,
    replyTo: replyTo
      ? {
          id: replyTo.id,
          seq: replyTo.seq,
          author: replyTo.author,
          snippet: replyTo.content.slice(0, 140),
          deleted: false,
        }
      : null,
    state: "sending",
    createdAt: new Date().toISOString(),
  };
  const state = roomState(roomId);
  state.pending.value = [...state.pending.peek(), pending];
  void deliver(pending);
}

/** Sends a failed message again under the same transaction id (the server never duplicates). */
export function retrySend(pending: PendingMessage): void {
  void deliver(pending);
}

export function discardSend(pending: PendingMessage): void {
  const state = roomState(pending.roomId);
  state.pending.value = state.pending.peek().filter((p) => p.txnId !== pending.txnId);
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

/**
 * Runs something the user asked for; a failure is shown (worded by its problem code) rather
 * than thrown.
 * @returns Whether it worked.
 */
export async function attempt(task: () => Promise<unknown>): Promise<boolean> {
  try {
    await task();
    return true;
  } catch (error) {
    say(describeError(error), true);
    return false;
  }
}
