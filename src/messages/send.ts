import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { assertNotBlocked } from "../contacts/blocks.ts";
import { type Message, messages, outboundMessages, type Room, roomMembers, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { attachToMessage, outboundAttachments } from "../media/attachments.ts";
import { notifyMessage } from "../notifications/notifications.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { accessRoom, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { snippet } from "./markdown.ts";
import { recordMentions, render } from "./messages.ts";
import { type MessageView, messageUrl, oneView, toView } from "./views.ts";

/**
 * Sends a message. The client's transaction id makes it idempotent: a retry, even a concurrent
 * one, returns the first message. The room row is locked while the next sequence number is
 * taken, so numbers have no gaps and follow commit order.
 * Attachments must be the sender's own uploads that no message carries yet; members the
 * message concerns are notified in the same transaction.
 * @returns The message and whether this call created it.
 * @throws {AppError} `room_not_found`, `not_a_member`, `validation_failed` (empty, too long, a
 *   reply to a message of another room, attachments that are not free uploads of the sender),
 *   `forbidden` in a one-to-one conversation where either side blocks the other.
 */
export async function sendMessage(
  deps: Deps,
  actorId: string,
  roomId: string,
  input: { txnId: string; content: string; replyTo?: string | undefined; attachments?: readonly string[] | undefined },
): Promise<{ message: MessageView; created: boolean }> {
  const { room } = await accessRoom(deps, roomId, actorId);
  if (room.directKey != null) {
    // A one-to-one conversation opened before a block: the block ends it both ways.
    const others = await deps.db
      .select({ id: roomMembers.actorId })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.actorId, actorId)));
    await assertNotBlocked(
      deps,
      actorId,
      others.map((o) => o.id),
      "send a direct message to",
    );
  }
  const attachmentIds = input.attachments ?? [];
  if (input.content.trim() === "" && attachmentIds.length === 0) {
    throw new AppError("validation_failed", "A message needs some text or an attachment.", {
      details: [{ path: "content", message: "expected some text" }],
    });
  }
  // Everything that needs no lock happens first: rendering, the author, the quoted message.
  const { html, mentioned } = await render(deps, input.content);
  const [reply] = input.replyTo
    ? await deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.id, input.replyTo), eq(messages.roomId, roomId)))
    : [];
  if (input.replyTo && reply == null) {
    throw new AppError("validation_failed", "A reply must answer a message of the same room.", {
      details: [{ path: "replyTo", message: "no such message in this room" }],
    });
  }
  const profiles = await actorProfiles(deps, [actorId, ...(reply ? [reply.authorId] : [])]);
  if (room.iri != null) {
    return await sendToRemoteRoom(deps, actorId, room, { ...input, attachments: attachmentIds, html, reply }, profiles);
  }
  const retried = new Error("retried");
  let existing: Message | undefined;
  let view: MessageView | undefined;
  try {
    await deps.db.transaction(async (tx) => {
      // Taking the next number locks the room row until commit: sends to a room are serial,
      // so numbers have no gaps, and a retry below sees the first attempt's row.
      const [counter] = await tx
        .update(rooms)
        .set({ lastSeq: sql`${rooms.lastSeq} + 1`, updatedAt: sql`now()` })
        .where(
          and(
            eq(rooms.id, roomId),
            isNull(rooms.deletedAt),
            sql`exists (select 1 from ${roomMembers} where ${roomMembers.roomId} = ${roomId} and ${roomMembers.actorId} = ${actorId})`,
          ),
        )
        .returning({ seq: rooms.lastSeq });
      if (counter == null) throw new AppError("not_a_member", "Join the room first.");
      [existing] = await tx
        .select()
        .from(messages)
        .where(and(eq(messages.roomId, roomId), eq(messages.authorId, actorId), eq(messages.txnId, input.txnId)));
      // A retry: roll back, so the number taken above is not spent.
      if (existing) throw retried;
      const [message] = await tx
        .insert(messages)
        .values({
          id: uuidv7(),
          roomId,
          seq: counter.seq,
          authorId: actorId,
          txnId: input.txnId,
          content: input.content,
          html,
          replyTo: input.replyTo ?? null,
        })
        .returning();
      if (message == null) throw new Error("The message row was not written.");
      const files = await attachToMessage(tx, actorId, { messageId: message.id }, attachmentIds);
      const recorded = mentioned.length > 0 ? await recordMentions(tx, message, mentioned) : [];
      // Sending reads everything before it.
      await tx
        .update(roomMembers)
        .set({ lastReadSeq: sql`greatest(${roomMembers.lastReadSeq}, ${message.seq})` })
        .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)));
      // Just written: no reactions or edits yet, so the view needs no query.
      view = toView(deps, message, profiles, reply, [], files);
      await appendEvents(tx, [{ type: "message.created", roomId, data: { message: view } }]);
      await notifyMessage(deps, tx, message, {
        direct: room.direct,
        mentioned: recorded,
        replyAuthorId: reply && !reply.deletedAt ? reply.authorId : null,
        snippet: snippet(message.content),
      });
    });
  } catch (error) {
    if (error !== retried || existing == null) throw error;
    return { message: await oneView(deps, existing, actorId), created: false };
  }
  if (view == null) throw new Error("The message was not sent.");
  return { message: view, created: true };
}

/**
 * Sends a message to a room on another server: kept as outbound (so a retry with the same
 * txnId sends the same message) and sent to the room's `Group`, which numbers it and announces
 * it back; the stream then shows it like any other.
 */
async function sendToRemoteRoom(
  deps: Deps,
  actorId: string,
  room: Room,
  input: { txnId: string; content: string; html: string; attachments: readonly string[]; reply: Message | undefined },
  profiles: Map<string, ActorProfile>,
): Promise<{ message: MessageView; created: boolean }> {
  const key = and(
    eq(outboundMessages.roomId, room.id),
    eq(outboundMessages.authorId, actorId),
    eq(outboundMessages.txnId, input.txnId),
  );
  // The first send of a txnId keeps the message and reserves its uploads; a retry finds both.
  const inserted = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(outboundMessages)
      .values({
        id: uuidv7(),
        roomId: room.id,
        authorId: actorId,
        txnId: input.txnId,
        content: input.content,
        html: input.html,
        replyTo: input.reply?.id ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (row) await attachToMessage(tx, actorId, { outboundId: row.id }, input.attachments);
    return row;
  });
  const [row] = inserted ? [inserted] : await deps.db.select().from(outboundMessages).where(key);
  if (row == null) throw new Error("An outbound message vanished.");
  const [numbered] = await deps.db.select().from(messages).where(eq(messages.id, row.id));
  // Numbered and stored already: this is a retry of a delivered message.
  if (numbered) return { message: await oneView(deps, numbered, actorId), created: false };
  await remote(deps).sendToRoom(actorId, room, {
    type: "create",
    id: row.id,
    content: row.content,
    html: row.html,
    inReplyTo: input.reply ? messageUrl(deps, input.reply) : null,
  });
  const message = toView(
    deps,
    { ...row, seq: 0, iri: null, activity: null, editedAt: null, deletedAt: null, deletedBy: null },
    profiles,
    input.reply,
    [],
    await outboundAttachments(deps.db, row.id),
  );
  return { message: { ...message, pending: true }, created: inserted != null };
}
