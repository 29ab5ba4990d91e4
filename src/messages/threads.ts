import { and, eq, lte, sql } from "drizzle-orm";
import { messages, threadReads } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { markMessageNotificationsRead } from "../notifications/notifications.ts";
import { accessRoom } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { messageIn, pageOf } from "./messages.ts";
import { threadSummaries } from "./thread-summaries.ts";
import { type MessageView, messageViews, oneView } from "./views.ts";

/**
 * The root of the thread a message names: the message itself, or the root of the thread it
 * replies in (threads are one level deep).
 * @throws {AppError} `message_not_found` when it is not a message of this room.
 */
async function rootOf(deps: Deps, roomId: string, messageId: string) {
  const message = await messageIn(deps, roomId, messageId);
  return message.threadRootId ? await messageIn(deps, roomId, message.threadRootId) : message;
}

/**
 * A thread: its root, and a page of its replies in ascending `seq` (the latest `limit`, or
 * those before or after a number). Named by one of its replies, the thread is its root's.
 * @throws {AppError} `room_not_found`, `not_a_member`, `message_not_found`.
 */
export async function listThread(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  page: { before?: number | undefined; after?: number | undefined; limit: number },
): Promise<{ root: MessageView; messages: MessageView[] }> {
  await accessRoom(deps, roomId, actorId);
  const root = await rootOf(deps, roomId, messageId);
  const rows = await pageOf(deps, eq(messages.threadRootId, root.id), page);
  return { root: await oneView(deps, root, actorId), messages: await messageViews(deps, rows, actorId) };
}

/**
 * Moves the caller's read position in a thread forward to `seq` (never back, never past its
 * last reply), marks the notifications of what was read as read, and tells the caller's other
 * sessions (`thread.read`).
 * @throws {AppError} `room_not_found`, `not_a_member`, `message_not_found`.
 */
export async function markThreadRead(deps: Deps, actorId: string, roomId: string, messageId: string, seq: number) {
  await accessRoom(deps, roomId, actorId);
  const root = await rootOf(deps, roomId, messageId);
  return await deps.db.transaction(async (tx) => {
    const last = sql`(select coalesce(max(${messages.seq}), 0) from ${messages} where ${messages.threadRootId} = ${root.id})`;
    const [row] = await tx
      .insert(threadReads)
      .values({ actorId, rootId: root.id, lastReadSeq: sql`least(${seq}::bigint, ${last})` })
      .onConflictDoUpdate({
        target: [threadReads.actorId, threadReads.rootId],
        set: { lastReadSeq: sql`greatest(${threadReads.lastReadSeq}, least(${seq}::bigint, ${last}))` },
      })
      .returning({ lastReadSeq: threadReads.lastReadSeq });
    const upTo = row?.lastReadSeq ?? 0;
    await markMessageNotificationsRead(
      tx,
      actorId,
      roomId,
      and(eq(messages.threadRootId, root.id), lte(messages.seq, upTo)),
    );
    const summary = (await threadSummaries(tx, [root.id], actorId)).get(root.id);
    const state = { roomId, rootId: root.id, seq: upTo, unread: summary?.unread ?? 0 };
    await appendEvents(tx, [{ type: "thread.read", actorId, data: state }]);
    return state;
  });
}
