/**
 * Who turns cards off: a user for themselves (they see none, and their own messages get
 * none), and the author of a message for that message. A room's setting is a room change
 * (`PATCH /rooms/:id`, `setLinkPreviews`), in src/rooms/rooms.ts.
 * @module
 */
import { eq, sql } from "drizzle-orm";
import { messages, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { messageIn } from "../messages/messages.ts";
import { accessRoom } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { seesPreviews } from "./cards.ts";

/** Whether the user sees cards and gives their own messages some. */
export async function userPreviews(deps: Deps, userId: string): Promise<{ enabled: boolean }> {
  return { enabled: await seesPreviews(deps, userId) };
}

/** Turns the user's cards on or off; their other sessions learn it on their next read. */
export async function setUserPreviews(deps: Deps, userId: string, enabled: boolean): Promise<{ enabled: boolean }> {
  await deps.db.update(users).set({ linkPreviews: enabled, updatedAt: sql`now()` }).where(eq(users.id, userId));
  return { enabled };
}

/**
 * Removes a message's cards, for everyone and for good (an edit does not bring them back).
 * Only its author may; the room hears `message.previews` with no cards. Cards are never
 * federated, so this concerns this server's readers only.
 * @throws {AppError} `room_not_found`, `not_a_member`, `message_not_found`, `forbidden`.
 */
export async function removePreviews(deps: Deps, actorId: string, roomId: string, messageId: string): Promise<void> {
  await accessRoom(deps, roomId, actorId);
  const message = await messageIn(deps, roomId, messageId);
  if (message.authorId !== actorId) throw new AppError("forbidden", "Only the author may remove a message's cards.");
  if (message.previewsRemovedAt != null) return;
  await deps.db.transaction(async (tx) => {
    await tx.update(messages).set({ previewsRemovedAt: sql`now()` }).where(eq(messages.id, messageId));
    await appendEvents(tx, [{ type: "message.previews", roomId, data: { messageId, previews: [] } }]);
  });
}
