/**
 * "Alice joined", "Bob left", "The room was renamed to X": lines between the messages of a
 * timeline, made from the stream's `member.joined`, `member.left` and `room.updated` events.
 *
 * A room's earlier changes come from `GET /rooms/:id/membership-changes`, which reads them
 * back from the server's event log: that log keeps a week, so older changes have no line.
 * Live and loaded lines share a key (the event's stream position) and merge without repeats.
 */
import { signal } from "@preact/signals";
import { api } from "./api.ts";
import { Name } from "./names.tsx";
import { RelativeTime } from "./relative-time.ts";
import type { Actor, Member, StreamEvent } from "./types.ts";

/** One membership change shown in a room's timeline. */
export interface MembershipLine {
  key: string;
  at: string;
  kind: "joined" | "left" | "kicked" | "banned" | "renamed";
  /** Who joined or left, or the room's new name. */
  name: string;
  handle?: string;
}

/** The lines seen per room, oldest first. */
export const membershipLines = signal<Record<string, MembershipLine[]>>({});

/**
 * Notes a stream event that changes a room's membership or name. `members` is the room's
 * member list as known before the event (it names whoever left).
 */
export function noteMembership(event: StreamEvent, members: Member[] | null | undefined): void {
  // `member.left` also comes once to the leaver themselves, without a room: that copy is skipped.
  const roomId = event.roomId;
  if (!roomId) return;
  const data = event.data ?? {};
  const at = new Date().toISOString();
  const key = String(event.position ?? `live-${at}`);
  let line: MembershipLine | null = null;
  if (event.type === "member.joined") {
    const member = data.member as Member | undefined;
    if (!member) return;
    // Already listed: a repeat, not a join.
    if (members?.some((m) => m.actor.id === member.actor.id)) return;
    line = {
      key,
      at: member.joinedAt || at,
      kind: "joined",
      name: member.nickname || member.actor.displayName || member.actor.handle,
      handle: member.actor.handle,
    };
  } else if (event.type === "member.left" && typeof data.actorId === "string") {
    const member = members?.find((m) => m.actor.id === data.actorId);
    const kind = data.reason === "kicked" || data.reason === "banned" ? data.reason : "left";
    line = member
      ? {
          key,
          at,
          kind,
          name: member.nickname || member.actor.displayName || member.actor.handle,
          handle: member.actor.handle,
        }
      : { key, at, kind, name: "Someone" };
  } else if (event.type === "room.updated") {
    const changes = (data.changes ?? {}) as { name?: unknown };
    if (typeof changes.name !== "string") return;
    line = { key, at, kind: "renamed", name: changes.name };
  }
  if (line) merge(roomId, [line]);
}

/** Adds lines to a room's, without repeats (by key), in order of time. */
function merge(roomId: string, added: MembershipLine[]): void {
  const all = membershipLines.peek();
  const byKey = new Map((all[roomId] ?? []).map((l) => [l.key, l]));
  for (const l of added) if (!byKey.has(l.key)) byKey.set(l.key, l);
  const lines = [...byKey.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  membershipLines.value = { ...all, [roomId]: lines };
}

/** Loads a room's recent membership changes (the server keeps a week of them). */
export async function loadMembershipChanges(roomId: string): Promise<void> {
  try {
    const { changes } = await api<{
      changes: { position: number; kind: MembershipLine["kind"]; at: string; actor: Actor | null; name?: string }[];
    }>("GET", `/rooms/${roomId}/membership-changes`);
    merge(
      roomId,
      changes.map((c) => ({
        key: String(c.position),
        at: c.at,
        kind: c.kind,
        name: c.kind === "renamed" ? (c.name ?? "") : c.actor?.displayName || c.actor?.handle || "Someone",
        ...(c.actor && c.kind !== "renamed" ? { handle: c.actor.handle } : {}),
      })),
    );
  } catch {
    // The lines are a nicety: the timeline works without them.
  }
}

/** One line of the timeline for a membership change. */
export function MembershipItem(props: { line: MembershipLine }) {
  const { line } = props;
  const who = line.handle ? (
    <a class="membership-name" href={`/users/${encodeURIComponent(line.handle)}`}>
      <Name text={line.name} />
    </a>
  ) : (
    <Name text={line.name} />
  );
  return (
    <li class="membership-line">
      <span>
        {line.kind === "renamed" ? (
          <>
            The room was renamed to <Name class="membership-room" text={line.name} />
          </>
        ) : (
          <>
            {who}{" "}
            {line.kind === "joined"
              ? "joined"
              : line.kind === "left"
                ? "left"
                : line.kind === "kicked"
                  ? "was removed"
                  : "was banned"}
          </>
        )}{" "}
        · <RelativeTime at={line.at} />
      </span>
    </li>
  );
}
