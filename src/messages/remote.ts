import { and, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import {
  earlyEdits,
  type Message,
  messageEdits,
  messages,
  outboundMessages,
  roomMembers,
  rooms,
  tombstones,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type NewInvitation, storeInvitation } from "../invitations/store.ts";
import { invitationViews } from "../invitations/views.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { addRemoteAttachments, claimOutbound, type RemoteAttachment } from "../media/carried.ts";
import { notifyMessage } from "../notifications/notifications.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { refuseForbiddenBot } from "../rooms/bot-policy.ts";
import { membership } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { snippet } from "./markdown.ts";
import { recordMentions, tombstoneMessage } from "./messages.ts";
import { oneView, textEmojis, toView } from "./views.ts";

/** A message from another server, checked and sanitised by the federation layer. */
export interface RemoteNote {
  /** The `Note`'s IRI. */
  readonly iri: string;
  readonly authorId: string;
  readonly content: string;
  readonly html: string;
  /** The IRI of the message it answers. */
  readonly inReplyTo: string | null;
  /** Its `context` IRIs (FEP-7888): a thread reply's names the thread's root. */
  readonly contexts?: readonly string[];
  readonly published: Date | null;
  /** Local actors it mentions. */
  readonly mentioned: readonly string[];
  /** Its files, fetched when someone here first opens one. */
  readonly attachments: readonly RemoteAttachment[];
  /** The author's activity, as received, to relay (rooms hosted here). */
  readonly activity: unknown;
  /** The invitation it carries, checked by the federation layer. */
  readonly invitation?: NewInvitation | undefined;
}

/**
 * {@link messageByIri}, waiting up to `ms` for it to be stored: what a room relays right after a
 * message (a reaction, an answer) may be taken from the queue together with it.
 */
export async function awaitMessageByIri(deps: Deps, iri: string, ms: number): Promise<Message | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const message = await messageByIri(deps, iri);
    if (message != null || Date.now() >= deadline) return message;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A message by its ActivityPub IRI: ours (`/messages/<id>`) or a remote one. */
export async function messageByIri(deps: Deps, iri: string): Promise<Message | undefined> {
  const local = `${deps.config.origin}/messages/`;
  const id = iri.startsWith(local) ? iri.slice(local.length) : undefined;
  const [row] =
    id && /^[0-9a-f-]{36}$/.test(id)
      ? await deps.db.select().from(messages).where(eq(messages.id, id))
      : await deps.db.select().from(messages).where(eq(messages.iri, iri));
  return row;
}

/**
 * Stores a message that came from another server: in a room hosted here (`seq` absent: the
 * next number is taken, the author must be a member) or in the mirror of a remote room (`seq`
 * as its server assigned it). A message already stored is left as it is; one deleted before
 * it arrived is refused in a hosted room and kept as a tombstone (its number stays) in a mirror. Our own users' messages come back this way from remote rooms: they keep the id
 * and transaction id they were sent with.
 * @returns The message, or undefined when it was refused or already known.
 * @throws {AppError} `not_a_member` in a hosted room.
 */
export async function storeRemoteMessage(
  deps: Deps,
  roomId: string,
  note: RemoteNote,
  seq?: number,
): Promise<Message | undefined> {
  if (await messageByIri(deps, note.iri)) return undefined;
  // Deleted before it arrived: it keeps its number, as a tombstone, and never shows its content.
  const [tombstone] = await deps.db.select().from(tombstones).where(eq(tombstones.iri, note.iri));
  if (tombstone && seq == null) return undefined;
  const answered = note.inReplyTo ? await messageByIri(deps, note.inReplyTo) : undefined;
  const threadRootId = await threadOf(deps, roomId, note, answered);
  // A thread reply answers its root on the wire (see toNote); here that is the thread itself, not a quote.
  const reply = threadRootId != null && answered?.id === threadRootId ? undefined : answered;
  const ownPrefix = `${deps.config.origin}/messages/`;
  const ownId = note.iri.startsWith(ownPrefix) ? note.iri.slice(ownPrefix.length) : undefined;
  const profiles = await actorProfiles(deps, [note.authorId, ...(reply ? [reply.authorId] : [])]);
  const stored = await deps.db.transaction(async (tx) => {
    let number = seq;
    if (number == null) {
      const [counter] = await tx
        .update(rooms)
        .set({ lastSeq: sql`${rooms.lastSeq} + 1`, updatedAt: sql`now()` })
        .where(and(eq(rooms.id, roomId), isNull(rooms.deletedAt)))
        .returning({ seq: rooms.lastSeq, allowBots: rooms.allowBots });
      if (counter == null) throw new AppError("room_not_found", "No such room.");
      if ((await membership(tx, roomId, note.authorId)) == null) {
        throw new AppError("not_a_member", "Only members may post in this room.");
      }
      // A room that forbids bots takes no post from a remote `Service` either (the number rolls back).
      if (!counter.allowBots && profiles.get(note.authorId)?.bot === true) {
        throw new AppError("bots_forbidden", "This room does not allow bots to post.");
      }
      number = counter.seq;
    } else {
      await tx
        .update(rooms)
        .set({ lastSeq: sql`greatest(${rooms.lastSeq}, ${number})`, updatedAt: sql`now()` })
        .where(eq(rooms.id, roomId));
    }
    let txnId: string | null = null;
    if (ownId) {
      // The outbound row stays: it keeps later retries of the same txnId answering this message.
      const [sent] = await tx.select().from(outboundMessages).where(eq(outboundMessages.id, ownId));
      txnId = sent?.txnId ?? null;
    }
    const [message] = await tx
      .insert(messages)
      .values({
        id: ownId ?? uuidv7(),
        roomId,
        seq: number,
        authorId: note.authorId,
        iri: ownId ? null : note.iri,
        txnId,
        content: tombstone ? "" : note.content,
        html: tombstone ? "" : note.html,
        replyTo: reply && reply.roomId === roomId ? reply.id : null,
        threadRootId,
        activity: ownId || tombstone ? null : (note.activity as object),
        deletedAt: tombstone?.deletedAt ?? null,
        ...(note.published ? { createdAt: note.published } : {}),
      })
      .onConflictDoNothing()
      .returning();
    if (message == null) return undefined;
    if (note.mentioned.length > 0 && !tombstone) await recordMentions(tx, message, note.mentioned);
    // Our own message back from a remote room takes the uploads its send reserved.
    const files = ownId
      ? await claimOutbound(tx, ownId)
      : tombstone
        ? []
        : await addRemoteAttachments(tx, note.authorId, message.id, note.attachments);
    if (note.invitation && !tombstone) {
      // In a room hosted here, only its members can be invited in it.
      const invitees = note.invitation.invitees
        ? (
            await tx
              .select({ id: roomMembers.actorId })
              .from(roomMembers)
              .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.actorId, [...note.invitation.invitees])))
          ).map((m) => m.id)
        : null;
      await storeInvitation(tx, message.id, roomId, { ...note.invitation, invitees });
    }
    const invitation = (await invitationViews({ ...deps, db: tx }, [message.id])).get(message.id);
    const view = {
      ...toView(deps, message, profiles, reply, [], files),
      emojis: await textEmojis({ ...deps, db: tx }, message, profiles),
      ...(invitation ? { invitation } : {}),
    };
    await appendEvents(tx, [
      { type: "message.created", roomId, data: { message: view }, activity: seq == null ? note.activity : null },
    ]);
    if (threadRootId && !tombstone) {
      // The thread's local participants hear of a reply from another server as of one from here.
      const [room] = await tx.select({ direct: rooms.direct }).from(rooms).where(eq(rooms.id, roomId));
      await notifyMessage(deps, tx, message, {
        direct: room?.direct ?? false,
        mentioned: note.mentioned,
        replyAuthorId: reply && !reply.deletedAt ? reply.authorId : null,
        snippet: snippet(message.content),
        threadRootId,
      });
    }
    return message;
  });
  if (stored && !stored.deletedAt) await applyEarlyEdit(deps, stored, note.published);
  return stored;
}

/**
 * The thread a remote message replies in, in this room: the one its `context` names by its root
 * (or by one of its replies), else the one of the message it answers. A reply to a message of
 * the main timeline without such a context stays on the main timeline, as Mastodon replies do.
 */
async function threadOf(
  deps: Deps,
  roomId: string,
  note: RemoteNote,
  reply: Message | undefined,
): Promise<string | null> {
  for (const iri of note.contexts ?? []) {
    const named = await messageByIri(deps, iri);
    if (named && named.roomId === roomId && named.iri !== note.iri) return named.threadRootId ?? named.id;
  }
  return reply && reply.roomId === roomId ? reply.threadRootId : null;
}

/** An edit of a remote message, checked and sanitised by the federation layer. */
export interface RemoteEdit {
  readonly content: string;
  readonly html: string;
  readonly mentioned: readonly string[];
  /** The note's `updated`, when it says. */
  readonly updated: Date | null;
  /** The author's `Update`, as received, to relay (rooms hosted here). */
  readonly activity: unknown;
}

/** How long an edit waits for its message before it is forgotten. */
const earlyEditHours = 24;

/**
 * Keeps an author's edit of a message that is not here yet (the `Update` overtook its
 * `Create`), so that the message shows the newest text once it comes. Of two early edits the
 * newer (by `updated`) is kept.
 */
export async function holdEarlyEdit(deps: Deps, iri: string, authorId: string, edit: RemoteEdit): Promise<void> {
  const row = {
    iri,
    authorId,
    content: edit.content,
    html: edit.html,
    mentioned: [...edit.mentioned],
    updated: edit.updated,
    activity: edit.activity as object,
    receivedAt: new Date(),
  };
  await deps.db
    .insert(earlyEdits)
    .values(row)
    .onConflictDoUpdate({
      target: earlyEdits.iri,
      set: row,
      // Only the same author's newer edit replaces a held one.
      setWhere: sql`${earlyEdits.authorId} = excluded.author_id and (${earlyEdits.updated} is null or excluded.updated > ${earlyEdits.updated})`,
    });
  // The message may have been stored meanwhile (deliveries are handled concurrently), after it
  // looked for held edits: whichever of the two looks last applies the edit, exactly once.
  const arrived = await messageByIri(deps, iri);
  if (arrived && !arrived.deletedAt) await applyEarlyEdit(deps, arrived, null);
}

/**
 * Applies (then forgets) an edit held for a message that has just been stored, if it is newer;
 * a room hosted here relays it after the message.
 */
export async function applyEarlyEdit(deps: Deps, message: Message, published: Date | null): Promise<void> {
  const iri = message.iri ?? `${deps.config.origin}/messages/${message.id}`;
  const [held] = await deps.db.delete(earlyEdits).where(eq(earlyEdits.iri, iri)).returning();
  if (held == null || held.authorId !== message.authorId) return;
  if (held.updated && published && held.updated <= published) return;
  const [room] = await deps.db.select({ iri: rooms.iri }).from(rooms).where(eq(rooms.id, message.roomId));
  await applyRemoteEdit(deps, message, held, room != null && room.iri == null);
}

/** Forgets early edits whose message never came. */
export async function purgeEarlyEdits(deps: Pick<Deps, "db">): Promise<void> {
  await deps.db
    .delete(earlyEdits)
    .where(lte(earlyEdits.receivedAt, sql`now() - make_interval(hours => ${earlyEditHours})`));
}

/**
 * Applies an edit from the message's author on another server; an older edit than the one
 * stored (by `updated`) is ignored.
 */
export async function applyRemoteEdit(
  deps: Deps,
  message: Message,
  edit: RemoteEdit,
  relay: boolean,
): Promise<boolean> {
  const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, message.roomId));
  // A bot's edit in a room that forbids bots is dropped, as its new posts are.
  try {
    if (room) await refuseForbiddenBot(deps, room, message.authorId);
  } catch {
    return false;
  }
  return await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(messages).where(eq(messages.id, message.id)).for("update");
    if (current == null || current.deletedAt) return false;
    if (edit.updated && current.editedAt && edit.updated <= current.editedAt) return false;
    if (current.content === edit.content && current.html === edit.html) return false;
    await tx
      .insert(messageEdits)
      .values({ id: uuidv7(), messageId: current.id, content: current.content, html: current.html });
    const [row] = await tx
      .update(messages)
      .set({
        content: edit.content,
        html: edit.html,
        editedAt: edit.updated ?? sql`now()`,
        ...(current.iri ? { activity: edit.activity as object } : {}),
      })
      .where(eq(messages.id, current.id))
      .returning();
    if (row == null) return false;
    await recordMentions(tx, row, edit.mentioned);
    const view = await oneView({ ...deps, db: tx }, row, null);
    await appendEvents(tx, [
      { type: "message.updated", roomId: row.roomId, data: { message: view }, activity: relay ? edit.activity : null },
    ]);
    return true;
  });
}

/**
 * Deletes a message as its author's server or the room's server asked, leaving a tombstone.
 * A message not here yet gets a tombstone record, so a late `Create` cannot bring it back;
 * with `numbered` (a mirror's history lists it deleted) the record keeps its number too.
 */
export async function applyRemoteDelete(
  deps: Deps,
  iri: string,
  deletedBy: string | null,
  activity: unknown,
  relay: boolean,
  numbered?: { roomId: string; seq: number },
): Promise<boolean> {
  const message = await messageByIri(deps, iri);
  if (message == null) {
    await deps.db.transaction(async (tx) => {
      await tx
        .insert(tombstones)
        .values({ iri, roomId: numbered?.roomId ?? null, seq: numbered?.seq ?? null })
        .onConflictDoUpdate({
          target: tombstones.iri,
          set: { roomId: numbered?.roomId ?? null, seq: numbered?.seq ?? null },
          setWhere: sql`${tombstones.seq} is null and ${numbered != null}`,
        });
      if (numbered) {
        await tx
          .update(rooms)
          .set({ lastSeq: sql`greatest(${rooms.lastSeq}, ${numbered.seq})` })
          .where(eq(rooms.id, numbered.roomId));
      }
    });
    return false;
  }
  const released = await deps.db.transaction((tx) => tombstoneMessage(tx, message, deletedBy, relay ? activity : null));
  if (released == null) return false;
  await removeUnreferencedFiles(deps, released);
  return true;
}
