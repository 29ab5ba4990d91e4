/** The room list: every room the user is in (or waiting to join), with unread counts. */
import { computed, signal } from "@preact/signals";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { attempt, say } from "./status.ts";
import type { Room } from "./types.ts";

export const rooms = signal<Room[]>([]);
export const roomsLoaded = signal(false);

/** Unread messages across all rooms that are not muted, for the tab's title. */
export const totalUnread = computed(() =>
  rooms.value.reduce((sum, r) => sum + (r.notifications?.muted ? 0 : r.unread), 0),
);

export const sortedRooms = computed(() =>
  [...rooms.value].sort((a, b) => b.lastSeq - a.lastSeq || a.name.localeCompare(b.name)),
);

/**
 * A message to scroll to once its room is shown (from a notification or a search result);
 * with its number, the history around it is loaded however far back it is.
 */
export const jumpRequest = signal<{ roomId: string; messageId: string; seq?: number } | null>(null);

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

/** Changes one room in the list. */
export function updateRoom(roomId: string, change: Partial<Room> | ((room: Room) => Partial<Room>)): void {
  rooms.value = rooms
    .peek()
    .map((r) => (r.id === roomId ? { ...r, ...(typeof change === "function" ? change(r) : change) } : r));
}

/**
 * Withdraws a join the remote room's server has not answered yet (the server sends `Undo{Join}`).
 * @returns Whether it was withdrawn (a failure is said on the status line).
 */
export async function cancelJoin(room: Room): Promise<boolean> {
  return await attempt(async () => {
    await api("POST", `/rooms/${room.id}/leave`);
    rooms.value = rooms.peek().filter((r) => r.id !== room.id);
    say("Join request withdrawn.");
  });
}
