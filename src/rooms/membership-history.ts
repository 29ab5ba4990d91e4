/**
 * Who joined and left a room, and its renames, read back from the stream's event log.
 *
 * These changes are written to the log already (`member.joined`, `member.left`,
 * `room.updated`) in the same transaction as the change, with a position that follows commit
 * order, for hosted rooms and for mirrors of remote rooms alike (a remote room's roster
 * changes go through the same `addMember`/`removeMember`). Reading them back is the smallest
 * step that lets a client show them in a timeline after a reload; they are not messages (they
 * take no `seq`, count as no unread, never federate). The log keeps a week
 * (`eventRetentionDays`): older changes are no longer listed.
 * @module
 */
import { and, desc, eq, gte, inArray, lte } from "drizzle-orm";
import { events } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { type ActorProfile, actorProfiles } from "./actors.ts";
import { accessRoom } from "./rooms.ts";

/** One change of a room's membership or name. */
export interface MembershipChange {
  /** The event's position in the stream (the same as the live event's): unique, in commit order. */
  position: number;
  kind: "joined" | "left" | "kicked" | "banned" | "renamed";
  at: string;
  /** Who joined or left; null for a rename, or for someone no longer known. */
  actor: ActorProfile | null;
  /** The room's new name, for a rename. */
  name?: string;
}

/** At most this many changes per answer (the newest of the range). */
export const maxMembershipChanges = 200;

const types = ["member.joined", "member.left", "room.updated"];

/**
 * The membership changes and renames of a room between `since` and `until` (both optional),
 * oldest first, at most {@link maxMembershipChanges} (the newest). Members only.
 * @throws AppError `room_not_found`, `not_a_member`
 */
export async function listMembershipChanges(
  deps: Pick<Deps, "db" | "config">,
  actorId: string,
  roomId: string,
  range: { since?: Date | undefined; until?: Date | undefined } = {},
): Promise<MembershipChange[]> {
  await accessRoom(deps, roomId, actorId);
  const rows = await deps.db
    .select({ position: events.position, type: events.type, data: events.data, createdAt: events.createdAt })
    .from(events)
    .where(
      and(
        eq(events.roomId, roomId),
        inArray(events.type, types),
        range.since ? gte(events.createdAt, range.since) : undefined,
        range.until ? lte(events.createdAt, range.until) : undefined,
      ),
    )
    .orderBy(desc(events.position))
    .limit(maxMembershipChanges * 2);
  const picked: { position: number; at: string; kind: MembershipChange["kind"]; actorId?: string; name?: string }[] =
    [];
  for (const row of rows.reverse()) {
    const data = row.data as Record<string, unknown>;
    const at = row.createdAt.toISOString();
    if (row.type === "member.joined") {
      const member = data.member as { actor?: { id?: unknown } } | undefined;
      if (typeof member?.actor?.id === "string") {
        picked.push({ position: row.position, at, kind: "joined", actorId: member.actor.id });
      }
    } else if (row.type === "member.left" && typeof data.actorId === "string") {
      const kind = data.reason === "kicked" || data.reason === "banned" ? data.reason : "left";
      picked.push({ position: row.position, at, kind, actorId: data.actorId });
    } else if (row.type === "room.updated") {
      const changes = data.changes as { name?: unknown } | undefined;
      if (typeof changes?.name === "string")
        picked.push({ position: row.position, at, kind: "renamed", name: changes.name });
    }
  }
  const recent = picked.slice(-maxMembershipChanges);
  const profiles = await actorProfiles(
    deps,
    recent.flatMap((c) => (c.actorId ? [c.actorId] : [])),
  );
  return recent.map(({ actorId, ...change }) => ({
    ...change,
    actor: actorId ? (profiles.get(actorId) ?? null) : null,
  }));
}
