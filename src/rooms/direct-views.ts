/**
 * Direct conversations as each of their people sees them: named and pictured by the others in
 * them (display names, never oneself), unless someone gave the group a name of its own.
 */
import { and, asc, inArray, ne } from "drizzle-orm";
import { roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { type ActorProfile, actorProfiles } from "./actors.ts";

/** How many of the others a direct room's view carries (a group holds at most ten people). */
export const directOthersShown = 9;

/** The other people in each of these direct rooms, in the order they joined, for one viewer. */
export async function directOthers(
  deps: Pick<Deps, "db" | "config">,
  viewerId: string,
  roomIds: readonly string[],
): Promise<Map<string, ActorProfile[]>> {
  const result = new Map<string, ActorProfile[]>();
  if (roomIds.length === 0) return result;
  const rows = await deps.db
    .select({ roomId: roomMembers.roomId, actorId: roomMembers.actorId })
    .from(roomMembers)
    .where(and(inArray(roomMembers.roomId, [...new Set(roomIds)]), ne(roomMembers.actorId, viewerId)))
    .orderBy(asc(roomMembers.joinedAt), asc(roomMembers.actorId));
  const profiles = await actorProfiles(
    deps,
    rows.map((r) => r.actorId),
  );
  for (const row of rows) {
    const list = result.get(row.roomId) ?? [];
    const profile = profiles.get(row.actorId);
    if (profile && list.length < directOthersShown) list.push(profile);
    result.set(row.roomId, list);
  }
  return result;
}

/** The others in one direct room, for one viewer. */
export async function directOthersOf(
  deps: Pick<Deps, "db" | "config">,
  viewerId: string,
  roomId: string,
): Promise<ActorProfile[]> {
  return (await directOthers(deps, viewerId, [roomId])).get(roomId) ?? [];
}

/**
 * What a direct room is called for a viewer who sees these others in it. The name it got when
 * opened (its people's usernames) is replaced by the others' display names; a name someone
 * chose (`chosen`, set when it is renamed) is kept, even one that looks like usernames.
 */
export function directName(stored: string, chosen: boolean, others: readonly ActorProfile[]): string {
  if (others.length === 0 || chosen) return stored;
  return others.map((o) => o.displayName).join(", ");
}

/** The picture of a direct room: its own, else (between two people) the other's. */
export function directAvatar(own: string | null, others: readonly ActorProfile[]): string | null {
  return own ?? (others.length === 1 ? (others[0]?.avatarUrl ?? null) : null);
}
