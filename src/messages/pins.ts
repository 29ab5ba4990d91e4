/**
 * Pinned messages: moderators pin and unpin; every member reads the list. A room hosted here
 * keeps at most {@link maxPinsPerRoom}; a mirror keeps what its room's `Group` lists in its
 * `featured` collection. Each change is a `pins` event in the same transaction.
 * @module
 */
import { and, count, desc, eq, inArray, isNull, notInArray } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { type Message, messages, type Room, roomPins, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { authorize } from "../rooms/permissions.ts";
import { accessRoom, logModeration, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { messageIn } from "./messages.ts";
import { type PinView, pinsEvent } from "./pin-events.ts";
import { type MessageView, messageUrl, messageViews } from "./views.ts";

/** The most messages a room hosted here may have pinned at once. */
export const maxPinsPerRoom = 50;

/**
 * A room's pinned messages, newest pin first (or the one of `messageId`): the live ones, since
 * a tombstone leaves the list.
 */
async function pinRows(db: DatabaseLike, roomId: string, messageId?: string) {
  return await db
    .select({ pin: roomPins, message: messages })
    .from(roomPins)
    .innerJoin(messages, eq(messages.id, roomPins.messageId))
    .where(
      and(
        eq(roomPins.roomId, roomId),
        isNull(messages.deletedAt),
        messageId ? eq(roomPins.messageId, messageId) : undefined,
      ),
    )
    .orderBy(desc(roomPins.pinnedAt), desc(messages.seq));
}

/** Serialises pins for one viewer (null: the stream's, the same for every member). */
async function pinViews(
  deps: Deps,
  rows: readonly { pin: typeof roomPins.$inferSelect; message: Message }[],
  viewerId: string | null,
): Promise<PinView[]> {
  const views = await messageViews(
    deps,
    rows.map((r) => r.message),
    viewerId,
  );
  const pinners = [...new Set(rows.flatMap((r) => (r.pin.pinnedBy ? [r.pin.pinnedBy] : [])))];
  const profiles = await actorProfiles(deps, pinners);
  return rows.map((row, i) => ({
    message: views[i] as MessageView,
    pinnedAt: row.pin.pinnedAt.toISOString(),
    pinnedBy: row.pin.pinnedBy ? (profiles.get(row.pin.pinnedBy) ?? null) : null,
  }));
}

/**
 * The room's pinned messages, newest pin first, for a member.
 * @throws {AppError} `room_not_found`, `not_a_member`.
 */
export async function listPins(deps: Deps, actorId: string, roomId: string): Promise<PinView[]> {
  await accessRoom(deps, roomId, actorId);
  return await pinViews(deps, await pinRows(deps.db, roomId), actorId);
}

/** The outcome of a pin or unpin asked for by a member. */
export type PinOutcome =
  | { readonly pending: false; readonly changed: boolean; readonly pin?: PinView }
  /** A room on another server: asked of its `Group`, applied when it answers with `Add`/`Remove`. */
  | { readonly pending: true };

/**
 * Pins (`on`) or unpins a message, as a moderator. Idempotent: pinning a pinned message or
 * unpinning one that is not changes nothing. In a room on another server the request goes to
 * its `Group`, whose server checks the role (its own members' roles are not known here) and
 * tells every member server.
 * @throws {AppError} `room_not_found`, `not_a_member`, `forbidden` (below moderator),
 *   `message_not_found`, `conflict` (pinning a deleted message), `pin_limit_reached`.
 */
export async function pinMessage(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  on: boolean,
): Promise<PinOutcome> {
  const { room, member } = await accessRoom(deps, roomId, actorId);
  // A mirror holds its own users as members whatever their role there (it learns roles of
  // others only): the room's server, which knows, decides.
  if (room.iri == null) authorize(member as NonNullable<typeof member>, "pin");
  const message = await messageIn(deps, roomId, messageId);
  if (on && message.deletedAt) throw new AppError("conflict", "A deleted message cannot be pinned.");
  if (room.iri != null) {
    await remote(deps).sendToRoom(actorId, room, { type: "pin", messageIri: messageUrl(deps, message), on });
    return { pending: true };
  }
  const changed = await writePin(deps, room, message, on, actorId);
  if (!on) return { pending: false, changed };
  const [row] = await pinRows(deps.db, roomId, messageId);
  const [pin] = row ? await pinViews(deps, [row], actorId) : [];
  return { pending: false, changed, ...(pin ? { pin } : {}) };
}

/**
 * Writes one pin change and its `pins` event in one transaction, under the room row's lock
 * (so two moderators cannot both take the 50th place). `by` is the moderator (rooms hosted
 * here, logged in the moderation log), or null for a mirror following its `Group`, where the
 * limit is the room's server's to keep.
 * @returns Whether anything changed.
 * @throws {AppError} `pin_limit_reached`.
 */
async function writePin(deps: Deps, room: Room, message: Message, on: boolean, by: string | null): Promise<boolean> {
  return await deps.db.transaction(async (tx) => {
    await tx.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, room.id)).for("update");
    const where = and(eq(roomPins.roomId, room.id), eq(roomPins.messageId, message.id));
    if (on) {
      const [current] = await tx.select().from(roomPins).where(where);
      if (current) return false;
      const [held] = await tx.select({ n: count() }).from(roomPins).where(eq(roomPins.roomId, room.id));
      if (by != null && (held?.n ?? 0) >= maxPinsPerRoom) {
        throw new AppError("pin_limit_reached", `A room may have at most ${maxPinsPerRoom} pinned messages.`, {
          details: { limit: maxPinsPerRoom },
        });
      }
      const [pin] = await tx
        .insert(roomPins)
        .values({ roomId: room.id, messageId: message.id, pinnedBy: by })
        .onConflictDoNothing()
        .returning();
      if (pin == null) return false;
      const [view] = await pinViews({ ...deps, db: tx }, [{ pin, message }], null);
      await appendEvents(tx, [pinsEvent({ roomId: room.id, messageId: message.id, pinned: true, pin: view })]);
    } else {
      const removed = await tx.delete(roomPins).where(where).returning();
      if (removed.length === 0) return false;
      await appendEvents(tx, [pinsEvent({ roomId: room.id, messageId: message.id, pinned: false })]);
    }
    if (by != null) {
      await logModeration(tx, {
        roomId: room.id,
        actorId: by,
        action: on ? "message.pinned" : "message.unpinned",
        targetActorId: message.authorId,
        targetMessageId: message.id,
      });
    }
    return true;
  });
}

/**
 * A mirror's pin changed, as its room's `Group` said (`Add`/`Remove` with its `featured`
 * collection as the target). The message must be one of the mirror's, and not deleted.
 * @returns Whether anything changed.
 */
export async function applyRemotePin(deps: Deps, mirror: Room, message: Message, on: boolean): Promise<boolean> {
  if (message.roomId !== mirror.id || (on && message.deletedAt)) return false;
  return await writePin(deps, mirror, message, on, null);
}

/**
 * Makes a mirror's pins what its room's `featured` collection lists (read on joining): those
 * no longer listed go, the others are added, oldest first, so the newest pin stays first.
 * @param messageIds Messages of the mirror, newest pin first; those not held here are skipped.
 */
export async function replaceMirrorPins(deps: Deps, mirror: Room, messageIds: readonly string[]): Promise<void> {
  const listed = messageIds.slice(0, maxPinsPerRoom);
  const stale = await deps.db
    .select({ message: messages })
    .from(roomPins)
    .innerJoin(messages, eq(messages.id, roomPins.messageId))
    .where(
      and(eq(roomPins.roomId, mirror.id), listed.length ? notInArray(roomPins.messageId, [...listed]) : undefined),
    );
  for (const { message } of stale) await writePin(deps, mirror, message, false, null);
  if (listed.length === 0) return;
  const held = await deps.db
    .select()
    .from(messages)
    .where(and(eq(messages.roomId, mirror.id), inArray(messages.id, [...listed]), isNull(messages.deletedAt)));
  const byId = new Map(held.map((m) => [m.id, m]));
  for (const id of [...listed].reverse()) {
    const message = byId.get(id);
    if (message) await writePin(deps, mirror, message, true, null);
  }
}

/**
 * For federation's `featured` collection: a room's pinned messages, newest pin first, with no
 * viewer (the collection's readers are servers).
 */
export async function pinnedMessages(deps: Pick<Deps, "db">, roomId: string): Promise<Message[]> {
  return (await pinRows(deps.db, roomId)).map((r) => r.message);
}
