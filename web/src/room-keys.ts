/**
 * Keys that move between rooms from anywhere, as Element has them: Alt+Up / Alt+Down to the
 * previous / next room in the list's order, with Shift to the previous / next unread one; and
 * Ctrl+K (Cmd+K on a Mac) to open the quick switcher.
 */
import { signal } from "@preact/signals";
import { sortedRooms } from "./room-list.ts";
import { navigate, path } from "./router.ts";
import type { Room } from "./types.ts";

/** Whether the quick switcher is open. */
export const switcherOpen = signal(false);

/** Whether a room shows as unread in the list (a muted room never does). */
export function isUnread(room: Room): boolean {
  return !room.notifications?.muted && (room.unread > 0 || room.mentions > 0);
}

/** The rooms one can open, in the order the list shows them: rooms, then direct messages. */
export function roomOrder(list: readonly Room[]): Room[] {
  const open = list.filter((r) => r.membership !== "pending");
  return [...open.filter((r) => !r.direct), ...open.filter((r) => r.direct)];
}

/**
 * The room `step` places away from `currentId` in `order` (wrapping around the ends), or, with
 * `unreadOnly`, the nearest unread room that way. Without a current room, the first (or last).
 * @returns The room's id, or null when there is none to go to.
 */
export function stepRoom(
  order: readonly Room[],
  currentId: string | null,
  step: 1 | -1,
  unreadOnly = false,
): string | null {
  const at = order.findIndex((r) => r.id === currentId);
  const n = order.length;
  for (let k = 1; k <= n; k++) {
    const i = at < 0 ? (step === 1 ? k - 1 : n - k) : (((at + step * k) % n) + n) % n;
    const room = order[i];
    if (room == null || room.id === currentId) continue;
    if (!unreadOnly || isUnread(room)) return room.id;
  }
  return null;
}

function onKeyDown(event: KeyboardEvent): void {
  if (event.defaultPrevented || event.isComposing) return;
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  if (event.key.toLowerCase() === "k" && (mac ? event.metaKey : event.ctrlKey) && !event.altKey && !event.shiftKey) {
    event.preventDefault();
    switcherOpen.value = !switcherOpen.peek();
    return;
  }
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
  if (switcherOpen.peek()) return;
  // The room in the address, not the one drawn: a second press may come before the page is.
  const current = /^\/rooms\/([^/]+)/.exec(path.peek())?.[1] ?? null;
  const target = stepRoom(roomOrder(sortedRooms.peek()), current, event.key === "ArrowDown" ? 1 : -1, event.shiftKey);
  event.preventDefault();
  if (target) navigate(`/rooms/${target}`);
}

/** Listens for the keys on the whole page; the returned function stops. */
export function listenForRoomKeys(): () => void {
  addEventListener("keydown", onKeyDown);
  return () => removeEventListener("keydown", onKeyDown);
}
