import { and, eq, isNull } from "drizzle-orm";
import { type ActorKeys, generateActorKeys } from "../accounts/keys.ts";
import { type Room, roomKeys, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

/**
 * A room hosted here as other servers may see it: not a direct conversation, not deleted, not
 * a mirror of a remote room. A private room's `Group` is served too (its members' servers
 * need its keys), with its details hidden from outsiders, and WebFinger does not find it.
 */
export async function publishedRoom(deps: Pick<Deps, "db">, roomId: string): Promise<Room | undefined> {
  const [room] = await deps.db
    .select()
    .from(rooms)
    .where(and(eq(rooms.id, roomId), eq(rooms.direct, false), isNull(rooms.deletedAt), isNull(rooms.iri)));
  return room;
}

/**
 * The room's key pairs, made the first time they are needed; concurrent first calls agree on
 * one pair (insert-or-nothing, then read back).
 */
export async function roomKeyPairs(deps: Pick<Deps, "db">, roomId: string): Promise<ActorKeys> {
  const read = async () => (await deps.db.select().from(roomKeys).where(eq(roomKeys.roomId, roomId)))[0];
  let row = await read();
  if (row == null) {
    await deps.db
      .insert(roomKeys)
      .values({ roomId, ...(await generateActorKeys()) })
      .onConflictDoNothing();
    row = await read();
  }
  if (row == null) throw new Error(`The keys of room ${roomId} could not be stored.`);
  return row;
}
