/** Notifications: the list and unread count, the browser's notifications, and opening one. */
import { batch, signal } from "@preact/signals";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { type Phrase, phraseText } from "./names.tsx";
import { jumpRequest, putRoom, rooms } from "./room-list.ts";
import { navigate } from "./router.ts";
import { attempt, say } from "./status.ts";
import type { AppNotification, Room } from "./types.ts";

/** The newest notifications (newest first) and the count of unread ones. */
export const notifications = signal<AppNotification[]>([]);
export const unreadNotifications = signal(0);
/** Whether the first page of notifications is in; whether the oldest one is. */
export const notificationsLoaded = signal(false);
export const notificationsAtEnd = signal(false);

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
  const room = rooms.peek().find((r) => r.id === n.roomId);
  const roomName = room?.name ?? (n.data.roomName as string | undefined);
  // A conversation between two is named after the one who wrote: "Bob in Bob" says nothing.
  const inRoom = roomName && !(room?.direct && room.others?.length === 1) ? [" in ", { name: roomName }] : [];
  const snippet = typeof n.data.snippet === "string" ? n.data.snippet : "";
  switch (n.type) {
    case "mention":
      return { title: [who, " mentioned you", ...inRoom], body: snippet };
    case "reply":
      return { title: [who, " replied to you", ...inRoom], body: snippet };
    case "thread":
      return { title: [who, " replied in a thread", ...inRoom], body: snippet };
    case "message":
      return { title: [who, ...inRoom], body: snippet };
    case "invite":
      return { title: [who, " invited you to ", roomName ? { name: roomName } : "a room"], body: "" };
    case "contact_request":
      return { title: [who, " wants to add you as a contact"], body: n.actor?.handle ?? "" };
    case "report": {
      // The moderators stay unnamed; what they did is said in words.
      const taken = Array.isArray(n.data.actions) ? (n.data.actions as string[]) : [];
      const words = taken.map((a) => reportOutcomes[a]).filter((w): w is string => w != null);
      return {
        title: [`Your report was ${n.data.status === "dismissed" ? "dismissed" : "resolved"}`, ...inRoom],
        body: words.length ? `${words.join(", ").replace(/^./, (c) => c.toUpperCase())}.` : "",
      };
    }
  }
}

/** What a report's outcome says of each action taken. */
const reportOutcomes: Record<string, string> = {
  delete_messages: "the messages were deleted",
  kick: "the person was removed from the room",
  ban: "the person was banned from the room",
  suspend: "the account was suspended",
  block_server: "their server was blocked",
  forward: "the report was sent to their server",
};

/** Shows a browser notification while the tab is hidden, if allowed. */
export function notify(n: AppNotification): void {
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
export function readNotificationsOf(roomId: string, seq: number): void {
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
  // A report's outcome is all in the notification.
  if (n.type === "report") return;
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
  if (n.messageId) {
    const seq = typeof n.data.seq === "number" ? { seq: n.data.seq } : {};
    jumpRequest.value = { roomId: n.roomId, messageId: n.messageId, ...seq };
  }
  navigate(`/rooms/${n.roomId}`);
}
