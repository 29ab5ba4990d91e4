/**
 * Profile changes told live: one `profile.updated` event per change, addressed to the actor
 * and routed by its audience (the rooms they are in, their contacts and pending requests), so
 * every session that shows them (member lists, messages, direct conversations, contacts, their
 * own other tabs) updates at once. Local users' changes and remote actors' refreshed profiles
 * (`Update{Person}`) are told the same way.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { contactRequests, contacts, roomMembers, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { appendEvents } from "../stream/events.ts";

/** Who sees an actor's profile: the live rooms they are in, and the actors with a contact or request with them. */
export async function profileAudience(
  db: DatabaseLike,
  actorId: string,
): Promise<{ rooms: string[]; actors: string[] }> {
  const inRooms = await db
    .select({ id: roomMembers.roomId })
    .from(roomMembers)
    .innerJoin(rooms, and(eq(rooms.id, roomMembers.roomId), isNull(rooms.deletedAt)))
    .where(eq(roomMembers.actorId, actorId));
  const people = await db
    .select({ id: contacts.ownerId })
    .from(contacts)
    .where(eq(contacts.contactId, actorId))
    .union(
      db
        .select({
          id: sql<string>`case when ${contactRequests.fromId} = ${actorId} then ${contactRequests.toId} else ${contactRequests.fromId} end`,
        })
        .from(contactRequests)
        .where(or(eq(contactRequests.fromId, actorId), eq(contactRequests.toId, actorId))),
    );
  return { rooms: inRooms.map((r) => r.id), actors: people.map((p) => p.id).filter((id) => id !== actorId) };
}

/**
 * Appends `profile.updated` with the actor's profile as it now is, in the caller's transaction
 * (after the change), for everyone who sees them.
 */
export async function announceProfile(deps: Pick<Deps, "config">, tx: DatabaseLike, actorId: string): Promise<void> {
  const profile = (await actorProfiles({ ...deps, db: tx }, [actorId])).get(actorId);
  if (profile == null) return;
  await appendEvents(tx, [
    { type: "profile.updated", actorId, data: { actor: profile }, audience: await profileAudience(tx, actorId) },
  ]);
}
