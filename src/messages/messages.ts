import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, type SQL, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { findUser, handleHost } from "../accounts/accounts.ts";
import type { DatabaseLike } from "../db/client.ts";
import {
  blocks,
  type Message,
  messageEdits,
  messageMentions,
  messages,
  notifications,
  reactions,
  roomMembers,
  roomPins,
  rooms,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { logger } from "../log.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { detachFromMessage } from "../media/carried.ts";
import { markMessageNotificationsRead, notifyMessage } from "../notifications/notifications.ts";
import { refuseForbiddenBot } from "../rooms/bot-policy.ts";
import { authorize } from "../rooms/permissions.ts";
import { accessRoom, logModeration, membership, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { renderMessage, snippet, snippetOf } from "./markdown.ts";
import { pinsEvent } from "./pin-events.ts";
import { type MessageView, messageUrl, messageViews, oneView } from "./views.ts";

const log = logger("messages");

/** The longest message source accepted, in characters. */
export const maxMessageLength = 4000;
/** Renders Markdown and resolves mentions of local users (`@name`, `@name@this-host`). */
export async function render(deps: Deps, content: string) {
  const host = handleHost(deps).toLowerCase();
  const candidates = new Map<string, { id: string; username: string }>();
  // Resolution is synchronous in the renderer: look the names up first.
  for (const match of content.matchAll(/@([A-Za-z0-9_]{3,32})(?:@([A-Za-z0-9.-]+(?::\d+)?))?/g)) {
    const name = (match[1] ?? "").toLowerCase();
    const at = match[2]?.toLowerCase();
    if (at && at !== host) continue;
    if (!candidates.has(name)) {
      const user = await findUser(deps, name);
      if (user) candidates.set(name, { id: user.id, username: user.username });
    }
  }
  const rendered = renderMessage(content, {
    origin: deps.config.origin,
    resolveMention: (username, mentionHost) => {
      if (mentionHost && mentionHost.toLowerCase() !== host) return undefined;
      const user = candidates.get(username);
      // Local users are shown as @name, as people type them.
      return user ? { url: `${deps.config.origin}/users/${user.username}`, handle: user.username } : undefined;
    },
  });
  const mentioned = rendered.mentions.flatMap((m) => {
    const user = candidates.get(m.username.toLowerCase());
    return user && (!m.host || m.host.toLowerCase() === host) ? [user.id] : [];
  });
  return {
    html: rendered.html,
    mentioned: [...new Set(mentioned)],
    /** The notifications' excerpt, from this rendering when it can be (a send's hot path). */
    snippet: () => snippetOf(content, rendered),
  };
}

/**
 * Records who a message mentions, among the room's members who do not block its author (for
 * counts and notifications).
 * @returns The actors recorded.
 */
export async function recordMentions(
  tx: DatabaseLike,
  message: Message,
  mentioned: readonly string[],
): Promise<string[]> {
  await tx.delete(messageMentions).where(eq(messageMentions.messageId, message.id));
  const others = mentioned.filter((id) => id !== message.authorId);
  if (others.length === 0) return [];
  const members = await tx
    .select({ actorId: roomMembers.actorId })
    .from(roomMembers)
    .where(
      and(
        eq(roomMembers.roomId, message.roomId),
        inArray(roomMembers.actorId, others),
        sql`not exists (select 1 from ${blocks} where ${blocks.blockerId} = ${roomMembers.actorId} and ${blocks.blockedId} = ${message.authorId})`,
      ),
    );
  if (members.length === 0) return [];
  await tx
    .insert(messageMentions)
    .values(
      members.map((m) => ({ messageId: message.id, actorId: m.actorId, roomId: message.roomId, seq: message.seq })),
    )
    .onConflictDoNothing();
  return members.map((m) => m.actorId);
}

export async function messageIn(deps: Pick<Deps, "db">, roomId: string, messageId: string): Promise<Message> {
  const [message] = await deps.db
    .select()
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.roomId, roomId)));
  if (message == null) throw new AppError("message_not_found", "No such message in this room.");
  return message;
}

/**
 * Edits a message (its author only), keeping the previous version in the edit history.
 * @throws {AppError} `forbidden`, `message_not_found`, `conflict` for a deleted message.
 */
export async function editMessage(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  content: string,
): Promise<MessageView> {
  const { room } = await accessRoom(deps, roomId, actorId);
  await refuseForbiddenBot(deps, room, actorId);
  const message = await messageIn(deps, roomId, messageId);
  if (message.authorId !== actorId) throw new AppError("forbidden", "Only the author may edit a message.");
  if (message.deletedAt) throw new AppError("conflict", "A deleted message cannot be edited.");
  if (message.content === content) return await oneView(deps, message, actorId);
  const { html, mentioned } = await render(deps, content);
  if (room.iri != null) {
    // Applied when the room's server announces it.
    await remote(deps).sendToRoom(actorId, room, {
      type: "update",
      messageIri: messageUrl(deps, message),
      content,
      html,
    });
    return await oneView(deps, message, actorId);
  }
  const updated = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(messages).where(eq(messages.id, messageId)).for("update");
    if (current == null || current.deletedAt) throw new AppError("conflict", "A deleted message cannot be edited.");
    await tx.insert(messageEdits).values({ id: uuidv7(), messageId, content: current.content, html: current.html });
    const [row] = await tx
      .update(messages)
      .set({ content, html, editedAt: sql`now()` })
      .where(eq(messages.id, messageId))
      .returning();
    if (row == null) throw new Error("The message row was not updated.");
    const recorded = await recordMentions(tx, row, mentioned);
    const view = await oneView({ ...deps, db: tx }, row, null);
    await appendEvents(tx, [{ type: "message.updated", roomId, data: { message: view } }]);
    // Someone the edit mentions for the first time is told once; nobody is told twice.
    await notifyMessage(deps, tx, row, {
      direct: room.direct,
      mentioned: recorded,
      replyAuthorId: null,
      snippet: snippet(row.content),
      edited: true,
    });
    return row;
  });
  deps.previews.afterSend(deps, updated);
  return await oneView(deps, updated, actorId);
}

/**
 * Deletes a message, leaving a tombstone: content, edit history, reactions and mentions go;
 * the id and sequence number stay, so reply chains hold. The author may delete their own;
 * a moderator may delete those of members ranked below them.
 */
export async function deleteMessage(deps: Deps, actorId: string, roomId: string, messageId: string): Promise<void> {
  const { room, member } = await accessRoom(deps, roomId, actorId);
  const message = await messageIn(deps, roomId, messageId);
  if (message.deletedAt) return;
  const byOther = message.authorId !== actorId;
  if (room.iri != null) {
    if (byOther) throw new AppError("managed_remotely", "Moderation of this room happens on its home server.");
    await remote(deps).sendToRoom(actorId, room, { type: "delete", messageIri: messageUrl(deps, message) });
    return;
  }
  if (byOther) {
    const author = await membership(deps.db, roomId, message.authorId);
    authorize(member as NonNullable<typeof member>, "deleteOthers", author ?? { role: "member" });
  }
  const hashes = await deps.db.transaction(async (tx) => {
    const released = await tombstoneMessage(tx, message, actorId);
    if (released && byOther) {
      await logModeration(tx, {
        roomId,
        actorId,
        action: "message.deleted",
        targetActorId: message.authorId,
        targetMessageId: messageId,
      });
    }
    return released ?? [];
  });
  // After commit: a file goes once no attachment row refers to its bytes.
  await removeUnreferencedFiles(deps, hashes);
}

/**
 * Turns a message into a tombstone in the caller's transaction: its content, edit history,
 * files, notifications (they quote it), reactions, mentions and pin go; the id and number
 * stay, and the room hears `message.deleted` (with the remote `activity` behind it, to relay),
 * and `pins` if it was pinned.
 * @returns The hashes of its files, for {@link removeUnreferencedFiles} after commit; undefined
 *   when it was deleted already.
 */
export async function tombstoneMessage(
  tx: DatabaseLike,
  message: Pick<Message, "id" | "roomId" | "seq">,
  deletedBy: string | null,
  activity: unknown = null,
): Promise<string[] | undefined> {
  const deleted = await tx
    .update(messages)
    .set({ content: "", html: "", deletedAt: sql`now()`, deletedBy, activity: null })
    .where(and(eq(messages.id, message.id), isNull(messages.deletedAt)))
    .returning({ id: messages.id });
  if (deleted.length === 0) return undefined;
  await tx.delete(messageEdits).where(eq(messageEdits.messageId, message.id));
  const released = await detachFromMessage(tx, message.id);
  await tx.delete(notifications).where(eq(notifications.messageId, message.id));
  await tx.delete(reactions).where(eq(reactions.messageId, message.id));
  await tx.delete(messageMentions).where(eq(messageMentions.messageId, message.id));
  const unpinned = await tx.delete(roomPins).where(eq(roomPins.messageId, message.id)).returning();
  await appendEvents(tx, [
    {
      type: "message.deleted",
      roomId: message.roomId,
      data: { id: message.id, seq: message.seq, deletedBy },
      activity,
    },
    ...(unpinned.length ? [pinsEvent({ roomId: message.roomId, messageId: message.id, pinned: false })] : []),
  ]);
  return released;
}

/** The earlier versions of a message, oldest first. */
export async function editHistory(deps: Deps, actorId: string, roomId: string, messageId: string) {
  await accessRoom(deps, roomId, actorId);
  await messageIn(deps, roomId, messageId);
  const rows = await deps.db
    .select()
    .from(messageEdits)
    .where(eq(messageEdits.messageId, messageId))
    .orderBy(asc(messageEdits.replacedAt), asc(messageEdits.id));
  return rows.map((r) => ({ content: r.content, html: r.html, replacedAt: r.replacedAt.toISOString() }));
}
/**
 * A page of history in ascending `seq`: the latest `limit` messages, or those before or
 * after a sequence number, or around one (half before it, the rest from it on: where a
 * search result or a notification jumps to).
 */
export async function listMessages(
  deps: Deps,
  actorId: string,
  roomId: string,
  page: { before?: number | undefined; after?: number | undefined; around?: number | undefined; limit: number },
): Promise<MessageView[]> {
  await accessRoom(deps, roomId, actorId);
  const inRoom = eq(messages.roomId, roomId);
  const rows =
    page.around != null ? await around(deps, inRoom, page.around, page.limit) : await pageOf(deps, inRoom, page);
  const views = await messageViews(deps, rows, actorId);
  // Cards missing from the cache (messages from other servers among them) are fetched now, once
  // this page is made: it shows what the cache had, and the cards come as events.
  deps.previews.afterRead(deps, rows, actorId);
  return views;
}

/** A page of the messages `which` selects around `seq`: half before it, the rest from it on. */
async function around(deps: Pick<Deps, "db">, which: SQL, seq: number, limit: number): Promise<Message[]> {
  const half = Math.floor(limit / 2);
  const [earlier, later] = await Promise.all([
    deps.db
      .select()
      .from(messages)
      .where(and(which, lt(messages.seq, seq)))
      .orderBy(desc(messages.seq))
      .limit(half),
    deps.db
      .select()
      .from(messages)
      .where(and(which, gte(messages.seq, seq)))
      .orderBy(asc(messages.seq))
      .limit(limit - half),
  ]);
  return [...earlier.reverse(), ...later];
}

/** The messages `which` selects, a page of them in ascending `seq` (see {@link listMessages}). */
export async function pageOf(
  deps: Pick<Deps, "db">,
  which: SQL,
  page: { before?: number | undefined; after?: number | undefined; limit: number },
): Promise<Message[]> {
  const where = and(
    which,
    page.before != null ? lt(messages.seq, page.before) : undefined,
    page.after != null ? gt(messages.seq, page.after) : undefined,
  );
  return page.after != null && page.before == null
    ? await deps.db.select().from(messages).where(where).orderBy(asc(messages.seq)).limit(page.limit)
    : (await deps.db.select().from(messages).where(where).orderBy(desc(messages.seq)).limit(page.limit)).reverse();
}

/** One message. */
export async function getMessage(deps: Deps, actorId: string, roomId: string, messageId: string) {
  await accessRoom(deps, roomId, actorId);
  const message = await messageIn(deps, roomId, messageId);
  const view = await oneView(deps, message, actorId);
  deps.previews.afterRead(deps, [message], actorId);
  return view;
}

/**
 * Moves the caller's read marker forward to `seq` (never back, never past the last message)
 * and tells the room, so the caller's other sessions update their counts and others can show
 * read receipts.
 */
export async function markRead(deps: Deps, actorId: string, roomId: string, seq: number) {
  const { room } = await accessRoom(deps, roomId, actorId);
  const state = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(roomMembers)
      .set({
        lastReadSeq: sql`greatest(${roomMembers.lastReadSeq}, least(${seq}::bigint,
          (select ${rooms.lastSeq} from ${rooms} where ${rooms.id} = ${roomId})))`,
      })
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)))
      .returning({ lastReadSeq: roomMembers.lastReadSeq });
    if (row == null) throw new AppError("not_a_member", "Join the room first.");
    // What was read no longer waits in the notifications list either.
    await markMessageNotificationsRead(
      tx,
      actorId,
      roomId,
      and(eq(messages.roomId, roomId), lte(messages.seq, row.lastReadSeq)),
    );
    const [mentions] = await tx
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(messageMentions)
      .where(
        and(
          eq(messageMentions.actorId, actorId),
          eq(messageMentions.roomId, roomId),
          gt(messageMentions.seq, row.lastReadSeq),
        ),
      );
    const [current] = await tx.select({ lastSeq: rooms.lastSeq }).from(rooms).where(eq(rooms.id, roomId));
    const state = {
      roomId,
      actorId,
      seq: row.lastReadSeq,
      unread: Math.max(0, (current?.lastSeq ?? room.lastSeq) - row.lastReadSeq),
      mentions: mentions?.n ?? 0,
    };
    // The room learns how far the member has read (read receipts); the member's own
    // sessions also get the counts.
    await appendEvents(tx, [
      { type: "read", roomId, data: { roomId, actorId, seq: state.seq } },
      { type: "read", actorId, data: state },
    ]);
    return state;
  });
  // The servers of the room's other members learn it too (a no-op for a member of another server).
  deps.federation?.sendRead(actorId, room, state.seq).catch((error: unknown) => {
    log.debug("A read position could not be told to other servers: {error}", { error });
  });
  return state;
}
