import { and, eq, isNull } from "drizzle-orm";
import { findLocalUser } from "../accounts/accounts.ts";
import { assertNotBlocked } from "../contacts/blocks.ts";
import { type Room, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { addMember } from "./members.ts";
import { createRoom } from "./rooms.ts";

/** A group conversation holds at most this many people, the creator included. */
export const maxDirectParticipants = 10;

/**
 * Opens a direct conversation: with one other user, the same pair always gets the same room
 * (found by its `direct_key`, or created); with several (at most 9 others), a new private
 * group. Direct rooms are private and marked `direct`. Nobody who blocks the caller, or whom
 * the caller blocks, can be in one with them.
 * @param handles The other participants' handles (`bob` or `bob@this-host`).
 * @throws {AppError} `user_not_found`, `validation_failed` (self only, too many).
 */
export async function openDirect(deps: Deps, actorId: string, handles: readonly string[]): Promise<Room> {
  const others = new Map<string, { id: string; username: string }>();
  for (const handle of handles) {
    const user = await findLocalUser(deps, handle);
    if (user.id !== actorId) others.set(user.id, user);
  }
  if (others.size === 0) {
    throw new AppError("validation_failed", "Name at least one other person.", {
      details: [{ path: "users", message: "expected someone other than yourself" }],
    });
  }
  await assertNotBlocked(deps, actorId, [...others.keys()]);
  if (others.size > maxDirectParticipants - 1) {
    throw new AppError("validation_failed", `A conversation holds at most ${maxDirectParticipants} people.`, {
      details: [{ path: "users", message: `expected at most ${maxDirectParticipants - 1} others` }],
    });
  }
  const [self] = await deps.db.select({ username: users.username }).from(users).where(eq(users.id, actorId));
  const names = [self?.username ?? "", ...[...others.values()].map((u) => u.username)].filter(Boolean).sort();
  const name = names.join(", ").slice(0, 100);
  if (others.size === 1) {
    const [other] = others.keys();
    const directKey = [actorId, other as string].sort().join(":");
    const [existing] = await deps.db
      .select()
      .from(rooms)
      .where(and(eq(rooms.directKey, directKey), isNull(rooms.deletedAt)));
    if (existing) {
      // Someone who left comes back into the same conversation.
      await deps.db.transaction(async (tx) => {
        await addMember(deps, tx, existing.id, actorId);
        await addMember(deps, tx, existing.id, other as string);
      });
      return existing;
    }
    try {
      const room = await createRoom(deps, actorId, { name, visibility: "private", direct: true, directKey });
      await deps.db.transaction((tx) => addMember(deps, tx, room.id, other as string));
      return room;
    } catch (error) {
      // Both opened it at once: the other request created it.
      const [raced] = await deps.db.select().from(rooms).where(eq(rooms.directKey, directKey));
      if (raced) return raced;
      throw error;
    }
  }
  const room = await createRoom(deps, actorId, { name, visibility: "private", direct: true });
  await deps.db.transaction(async (tx) => {
    for (const id of others.keys()) await addMember(deps, tx, room.id, id);
  });
  return room;
}
