/**
 * A local user's requests to join rooms on other servers: recorded when sent, listed while
 * unanswered, withdrawn by the user, settled by the room's answer.
 * @module
 */
import { and, eq } from "drizzle-orm";
import { pendingJoins, type Room, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { appendEvents } from "../stream/events.ts";
import { addMember } from "./members.ts";
/** Records that a local user asked to join a remote room; asking again keeps the first. */
export async function addPendingJoin(
  deps: Pick<Deps, "db">,
  roomId: string,
  actorId: string,
  activityIri: string,
): Promise<string> {
  await deps.db.insert(pendingJoins).values({ roomId, actorId, activityIri }).onConflictDoNothing();
  const [row] = await deps.db
    .select()
    .from(pendingJoins)
    .where(and(eq(pendingJoins.roomId, roomId), eq(pendingJoins.actorId, actorId)));
  return row?.activityIri ?? activityIri;
}

/** The remote rooms the actor asked to join and that have not answered yet. */
export async function pendingRooms(deps: Pick<Deps, "db">, actorId: string): Promise<Room[]> {
  const rows = await deps.db
    .select({ room: rooms })
    .from(pendingJoins)
    .innerJoin(rooms, eq(rooms.id, pendingJoins.roomId))
    .where(eq(pendingJoins.actorId, actorId));
  return rows.map((r) => r.room);
}

/**
 * A local user withdraws a join the remote room has not answered: the request goes, the room's
 * server is told (`Undo{Join}`), and an answer that comes later finds nothing to settle.
 * @returns Whether such a request was pending.
 */
export async function cancelPendingJoin(deps: Deps, actorId: string, roomId: string): Promise<boolean> {
  const [cancelled] = await deps.db.transaction(async (tx) => {
    const gone = await tx
      .delete(pendingJoins)
      .where(and(eq(pendingJoins.roomId, roomId), eq(pendingJoins.actorId, actorId)))
      .returning();
    if (gone.length > 0) {
      const data = { roomId, actorId, reason: "left", by: null };
      await appendEvents(tx, [{ type: "member.left", actorId, data }]);
    }
    return gone;
  });
  if (cancelled == null) return false;
  const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, roomId));
  if (room?.iri != null) {
    await deps.federation?.sendToRoom(actorId, room, { type: "cancel-join", joinIri: cancelled.activityIri });
  }
  return true;
}

/**
 * The remote room answered a local user's join: accepted, they become a member of its mirror;
 * refused, the request goes and the user is told. Either way the pending request ends.
 * @returns Whether such a request was pending.
 */
export async function settlePendingJoin(
  deps: Deps,
  roomId: string,
  actorId: string,
  accepted: boolean,
): Promise<boolean> {
  return await deps.db.transaction(async (tx) => {
    const settled = await tx
      .delete(pendingJoins)
      .where(and(eq(pendingJoins.roomId, roomId), eq(pendingJoins.actorId, actorId)))
      .returning();
    if (settled.length === 0) return false;
    if (accepted) {
      await addMember(deps, tx, roomId, actorId);
    } else {
      const data = { roomId, actorId, reason: "rejected", by: null };
      await appendEvents(tx, [{ type: "member.left", actorId, data }]);
    }
    return true;
  });
}

/** A local user's pending join of a mirror, by the IRI of the `Join` (or `Follow`) it sent. */
export async function pendingJoinByIri(deps: Pick<Deps, "db">, roomId: string, iri: string) {
  const [pending] = await deps.db
    .select()
    .from(pendingJoins)
    .where(and(eq(pendingJoins.activityIri, iri), eq(pendingJoins.roomId, roomId)));
  return pending;
}
