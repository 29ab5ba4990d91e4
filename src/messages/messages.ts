import { and, asc, desc, eq, gt, inArray, isNull, lt, ne, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { findUser, handleHost } from "../accounts/accounts.ts";
import { assertNotBlocked } from "../contacts/blocks.ts";
import type { DatabaseLike } from "../db/client.ts";
import {
  type Attachment,
  blocks,
  type Message,
  messageEdits,
  messageMentions,
  messages,
  notifications,
  outboundMessages,
  type Room,
  reactions,
  roomMembers,
  rooms,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import {
  type AttachmentView,
  attachmentsOf,
  attachmentView,
  attachToMessage,
  detachFromMessage,
  outboundAttachments,
  removeUnreferencedFiles,
} from "../media/attachments.ts";
import { notifyMessage } from "../notifications/notifications.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { authorize } from "../rooms/permissions.ts";
import { accessRoom, logModeration, membership, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { parseReactionKey } from "./emoji.ts";
import { renderMessage, snippet } from "./markdown.ts";

/** The longest message source accepted, in characters. */
export const maxMessageLength = 4000;

/** A message as the API and the stream show it. */
export interface MessageView {
  readonly id: string;
  readonly seq: number;
  readonly roomId: string;
  /** The message's ActivityPub object IRI. */
  readonly url: string;
  readonly author: ActorProfile | null;
  readonly content: string;
  readonly html: string;
  readonly replyTo: { id: string; seq: number; author: ActorProfile | null; snippet: string; deleted: boolean } | null;
  readonly reactions: { emoji: string; count: number; me: boolean }[];
  readonly attachments: AttachmentView[];
  /**
   * History only: the viewer blocks the author, so clients collapse the message (with a way to
   * reveal it). Stream events are serialised once for every member and leave this out; clients
   * hide those by their own block list.
   */
  readonly hidden?: boolean;
  readonly editedAt: string | null;
  readonly deletedAt: string | null;
  readonly createdAt: string;
  /** Sent to a room on another server, which has not numbered it yet (`seq` is 0 meanwhile). */
  readonly pending?: true;
}

/** The ActivityPub IRI of a local message. */
export function messageUrl(deps: Pick<Deps, "config">, message: Pick<Message, "id" | "iri">): string {
  return message.iri ?? `${deps.config.origin}/messages/${message.id}`;
}

/**
 * Serialises messages for one viewer in a few queries for the whole page: authors, replied-to
 * messages, and reaction counts with the viewer's own marked.
 */
export async function messageViews(
  deps: Deps,
  list: readonly Message[],
  viewerId: string | null,
): Promise<MessageView[]> {
  if (list.length === 0) return [];
  const replyIds = [...new Set(list.flatMap((m) => (m.replyTo ? [m.replyTo] : [])))];
  const replied = replyIds.length ? await deps.db.select().from(messages).where(inArray(messages.id, replyIds)) : [];
  const repliedById = new Map(replied.map((m) => [m.id, m]));
  const profiles = await actorProfiles(
    deps,
    [...list, ...replied].map((m) => m.authorId),
  );
  const counts = await deps.db
    .select({
      messageId: reactions.messageId,
      key: reactions.key,
      count: sql<number>`count(*)`.mapWith(Number),
      me: viewerId ? sql<boolean>`bool_or(${reactions.actorId} = ${viewerId})` : sql<boolean>`false`,
      first: sql<string>`min(${reactions.createdAt})`,
    })
    .from(reactions)
    .where(
      inArray(
        reactions.messageId,
        list.map((m) => m.id),
      ),
    )
    .groupBy(reactions.messageId, reactions.key)
    .orderBy(sql`min(${reactions.createdAt})`);
  const reactionsOf = new Map<string, MessageView["reactions"]>();
  for (const row of counts) {
    const entry = reactionsOf.get(row.messageId) ?? [];
    entry.push({ emoji: row.key, count: row.count, me: Boolean(row.me) });
    reactionsOf.set(row.messageId, entry);
  }
  const files = await attachmentsOf(
    deps.db,
    list.map((m) => m.id),
  );
  const authors = [...new Set(list.map((m) => m.authorId))];
  const blocked = viewerId
    ? new Set(
        (
          await deps.db
            .select({ id: blocks.blockedId })
            .from(blocks)
            .where(and(eq(blocks.blockerId, viewerId), inArray(blocks.blockedId, authors)))
        ).map((r) => r.id),
      )
    : new Set<string>();
  return list.map((m) => {
    const view = toView(
      deps,
      m,
      profiles,
      m.replyTo ? repliedById.get(m.replyTo) : undefined,
      reactionsOf.get(m.id) ?? [],
      files.get(m.id) ?? [],
    );
    return viewerId ? { ...view, hidden: blocked.has(m.authorId) } : view;
  });
}

export async function oneView(deps: Deps, message: Message, viewerId: string | null): Promise<MessageView> {
  const [view] = await messageViews(deps, [message], viewerId);
  if (view == null) throw new Error("A message could not be serialised.");
  return view;
}

/** Renders Markdown and resolves mentions of local users (`@name`, `@name@this-host`). */
async function render(deps: Deps, content: string) {
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
  return { html: rendered.html, mentioned: [...new Set(mentioned)] };
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

/**
 * A message's view from its row, the profiles of its author (and of the quoted message's),
 * the quoted message and its reaction counts.
 */
export function toView(
  deps: Deps,
  message: Message,
  profiles: Map<string, ActorProfile>,
  reply: Message | undefined,
  reactionCounts: MessageView["reactions"],
  files: readonly Attachment[],
): MessageView {
  return {
    id: message.id,
    seq: message.seq,
    roomId: message.roomId,
    url: messageUrl(deps, message),
    author: profiles.get(message.authorId) ?? null,
    content: message.content,
    html: message.html,
    replyTo: reply
      ? {
          id: reply.id,
          seq: reply.seq,
          author: profiles.get(reply.authorId) ?? null,
          snippet: reply.deletedAt ? "" : snippet(reply.content),
          deleted: reply.deletedAt != null,
        }
      : null,
    reactions: reactionCounts,
    attachments: files.map((file) => attachmentView(deps, file)),
    editedAt: message.editedAt?.toISOString() ?? null,
    deletedAt: message.deletedAt?.toISOString() ?? null,
    createdAt: message.createdAt.toISOString(),
  };
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
 * files, notifications (they quote it), reactions and mentions go; the id and number stay, and
 * the room hears `message.deleted` (with the remote `activity` behind it, to relay).
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
  await appendEvents(tx, [
    {
      type: "message.deleted",
      roomId: message.roomId,
      data: { id: message.id, seq: message.seq, deletedBy },
      activity,
    },
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

/** A reaction key from the path: a single emoji or `:shortcode:`. */
export function reactionKey(value: string): string {
  const parsed = parseReactionKey(value);
  if (parsed == null) {
    throw new AppError("validation_failed", "A reaction is one emoji or a :shortcode:.", {
      details: [{ path: "emoji", message: "expected one emoji or a :shortcode:" }],
    });
  }
  return parsed.kind === "unicode" ? parsed.emoji : `:${parsed.shortcode}:`;
}

/** Adds or removes the caller's reaction; adding twice or removing a missing one is a no-op. */
export async function react(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  key: string,
  on: boolean,
): Promise<void> {
  const { room } = await accessRoom(deps, roomId, actorId);
  const message = await messageIn(deps, roomId, messageId);
  if (message.deletedAt) throw new AppError("conflict", "A deleted message takes no reactions.");
  if (room.iri != null) {
    await remote(deps).sendToRoom(actorId, room, {
      type: "react",
      messageIri: messageUrl(deps, message),
      emoji: key,
      on,
    });
    return;
  }
  await deps.db.transaction(async (tx) => {
    const changed = on
      ? await tx
          .insert(reactions)
          .values({ messageId, actorId, key })
          .onConflictDoNothing()
          .returning({ key: reactions.key })
      : await tx
          .delete(reactions)
          .where(and(eq(reactions.messageId, messageId), eq(reactions.actorId, actorId), eq(reactions.key, key)))
          .returning({ key: reactions.key });
    if (changed.length === 0) return;
    const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
    await appendEvents(tx, [
      {
        type: on ? "reaction.added" : "reaction.removed",
        roomId,
        data: { messageId, seq: message.seq, emoji: key, actor: profile ?? null },
      },
    ]);
  });
}

/** Who reacted to a message with what, in order of first reaction. */
export async function reactionDetails(deps: Deps, actorId: string, roomId: string, messageId: string) {
  await accessRoom(deps, roomId, actorId);
  await messageIn(deps, roomId, messageId);
  const rows = await deps.db
    .select()
    .from(reactions)
    .where(eq(reactions.messageId, messageId))
    .orderBy(asc(reactions.createdAt));
  const profiles = await actorProfiles(
    deps,
    rows.map((r) => r.actorId),
  );
  const byKey = new Map<string, ActorProfile[]>();
  for (const row of rows) {
    const profile = profiles.get(row.actorId);
    if (profile) byKey.set(row.key, [...(byKey.get(row.key) ?? []), profile]);
  }
  return [...byKey].map(([emoji, actors]) => ({ emoji, count: actors.length, actors }));
}

/**
 * A page of history in ascending `seq`: the latest `limit` messages, or those before or
 * after a sequence number.
 */
export async function listMessages(
  deps: Deps,
  actorId: string,
  roomId: string,
  page: { before?: number | undefined; after?: number | undefined; limit: number },
): Promise<MessageView[]> {
  await accessRoom(deps, roomId, actorId);
  const where = and(
    eq(messages.roomId, roomId),
    page.before != null ? lt(messages.seq, page.before) : undefined,
    page.after != null ? gt(messages.seq, page.after) : undefined,
  );
  const rows =
    page.after != null && page.before == null
      ? await deps.db.select().from(messages).where(where).orderBy(asc(messages.seq)).limit(page.limit)
      : (await deps.db.select().from(messages).where(where).orderBy(desc(messages.seq)).limit(page.limit)).reverse();
  return await messageViews(deps, rows, actorId);
}

/** One message. */
export async function getMessage(deps: Deps, actorId: string, roomId: string, messageId: string) {
  await accessRoom(deps, roomId, actorId);
  return await oneView(deps, await messageIn(deps, roomId, messageId), actorId);
}

/**
 * Moves the caller's read marker forward to `seq` (never back, never past the last message)
 * and tells the room, so the caller's other sessions update their counts and others can show
 * read receipts.
 */
export async function markRead(deps: Deps, actorId: string, roomId: string, seq: number) {
  const { room } = await accessRoom(deps, roomId, actorId);
  return await deps.db.transaction(async (tx) => {
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
    await tx
      .update(notifications)
      .set({ readAt: sql`now()` })
      .where(
        and(
          eq(notifications.actorId, actorId),
          eq(notifications.roomId, roomId),
          isNull(notifications.readAt),
          sql`${notifications.messageId} in (select ${messages.id} from ${messages}
            where ${messages.roomId} = ${roomId} and ${messages.seq} <= ${row.lastReadSeq})`,
        ),
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
}
