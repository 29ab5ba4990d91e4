import { and, eq, ne } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { assertNotBlocked } from "../contacts/blocks.ts";
import { type Message, messages, outboundMessages, type Room, roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { dropInvitation, type NewInvitation, storeInvitation } from "../invitations/store.ts";
import { toInvitationView } from "../invitations/views.ts";
import { attachmentsRefused, outboundAttachments, reserveForOutbound, uploadsOf } from "../media/carried.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { remote } from "../rooms/rooms.ts";
import { render } from "./messages.ts";
import type { PreparedSend } from "./send-batch.ts";
import { sendingContext } from "./send-context.ts";
import { type MessageView, messageUrl, oneView, textEmojis, toView } from "./views.ts";

/**
 * Sends a message. The client's transaction id makes it idempotent: a retry, even a concurrent
 * one, returns the first message. Checked and rendered here, the message is written by the
 * process's `SendBatcher` (send-batch.ts) with the sends that arrive meanwhile: numbers have
 * no gaps and follow commit order. Attachments must be the sender's own uploads that no
 * message carries yet; members the message concerns are notified in the same statement.
 * @returns The message and whether this call created it.
 * A message with `threadRootId` replies in the thread under that message (or, named by one of
 * its replies, under its root); `alsoInRoom` shows it on the main timeline too. The thread's
 * participants (its root's author and its repliers) are notified with the rest.
 * @throws {AppError} `room_not_found`, `not_a_member`, `validation_failed` (empty, too long, a
 *   reply or a thread root of another room, `alsoInRoom` without a thread, attachments that are
 *   not free uploads of the sender),
 *   `forbidden` in a one-to-one conversation where either side blocks the other.
 */
export async function sendMessage(
  deps: Deps,
  actorId: string,
  roomId: string,
  input: {
    txnId: string;
    content: string;
    replyTo?: string | undefined;
    attachments?: readonly string[] | undefined;
    threadRootId?: string | undefined;
    alsoInRoom?: boolean | undefined;
    /** An invitation the message carries (src/invitations), checked by the caller. */
    invitation?: NewInvitation | undefined;
  },
): Promise<{ message: MessageView; created: boolean }> {
  const { room, reply, root, profiles, cached } = await sendingContext(
    deps,
    roomId,
    actorId,
    input.replyTo,
    input.threadRootId,
  );
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
  if (input.replyTo && reply == null) {
    throw new AppError("validation_failed", "A reply must answer a message of the same room.", {
      details: [{ path: "replyTo", message: "no such message in this room" }],
    });
  }
  if (input.threadRootId && root == null) {
    throw new AppError("validation_failed", "A thread must start at a message of the same room.", {
      details: [{ path: "threadRootId", message: "no such message in this room" }],
    });
  }
  if (input.alsoInRoom && root == null) {
    throw new AppError("validation_failed", "Only a thread reply can also be sent to the room.", {
      details: [{ path: "alsoInRoom", message: "expected a threadRootId with it" }],
    });
  }
  const thread = { threadRootId: root?.id ?? null, alsoInRoom: root != null && input.alsoInRoom === true };
  // Everything that needs no lock happens first: rendering, the view.
  const { html, mentioned, snippet } = await render(deps, input.content);
  if (room.iri != null) {
    return await sendToRemoteRoom(
      deps,
      actorId,
      room,
      { ...input, attachments: attachmentIds, html, reply, root },
      profiles,
    );
  }
  // The uploads, for the view: whether they are still free to take is decided with the write.
  const uploads = [...new Set(attachmentIds)];
  const files = uploads.length ? await uploadsOf(deps.db, actorId, uploads) : [];
  if (files.length !== uploads.length) throw attachmentsRefused();
  const message: Message = {
    id: uuidv7(),
    roomId,
    seq: 0,
    authorId: actorId,
    iri: null,
    txnId: input.txnId,
    content: input.content,
    html,
    replyTo: reply?.id ?? null,
    ...thread,
    activity: null,
    createdAt: new Date(),
    editedAt: null,
    deletedAt: null,
    deletedBy: null,
    previewsRemovedAt: null,
  };
  const invitation = input.invitation;
  const { seq: _unnumbered, ...view } = {
    ...toView(deps, message, profiles, reply, [], files),
    emojis: await textEmojis(deps, message, profiles),
    ...(invitation ? { invitation: await newInvitationView(deps, message.id, roomId, invitation) } : {}),
  };
  const send: PreparedSend = {
    id: message.id,
    roomId,
    authorId: actorId,
    txnId: input.txnId,
    content: input.content,
    html,
    replyTo: message.replyTo,
    ...thread,
    createdAt: view.createdAt,
    attachments: uploads,
    mentioned,
    replyAuthor: reply && !reply.deletedAt ? reply.authorId : null,
    direct: room.direct,
    snippet: snippet(),
    author: profiles.get(actorId) ?? null,
    view,
  };
  // Written first, so that the message's event and the federation layer's `Note` find it.
  if (invitation) await storeInvitation(deps.db, message.id, roomId, invitation);
  let result: Awaited<ReturnType<typeof deps.sends.send>>;
  try {
    result = await deps.sends.send(send);
  } catch (error) {
    if (invitation) await dropInvitation(deps.db, message.id).catch(() => {});
    throw error;
  }
  if (invitation && result.outcome !== "created") await dropInvitation(deps.db, message.id);
  switch (result.outcome) {
    case "created":
      // After the commit, in the background: the cards follow in `message.previews`.
      deps.previews.afterSend(deps, { ...message, seq: result.seq });
      return { message: { ...view, seq: result.seq }, created: true };
    case "retried": {
      const [existing] = await deps.db.select().from(messages).where(eq(messages.id, result.id));
      if (existing == null) throw new Error("A message vanished after a retried send.");
      return { message: await oneView(deps, existing, actorId), created: false };
    }
    case "attachments_taken":
      throw attachmentsRefused();
    case "not_a_member":
      if (cached) {
        // Remembered as a member, refused under the room's lock: a leave, kick, ban or
        // deletion the hub has not read yet. Read afresh, which throws the right refusal.
        deps.sendContexts.forget(roomId, actorId);
        await sendingContext(deps, roomId, actorId, undefined, undefined, true);
      }
      throw new AppError("not_a_member", "Join the room first.");
    default:
      throw new Error(`Unknown send outcome ${(result satisfies never as { outcome: string }).outcome}.`);
  }
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
  input: {
    txnId: string;
    content: string;
    html: string;
    attachments: readonly string[];
    reply: Message | undefined;
    root: Message | undefined;
    alsoInRoom?: boolean | undefined;
    invitation?: NewInvitation | undefined;
  },
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
    if (row) await reserveForOutbound(tx, actorId, row.id, input.attachments);
    if (row && input.invitation) await storeInvitation(tx, row.id, room.id, input.invitation);
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
    thread: input.root ? messageUrl(deps, input.root) : null,
  });
  const invitation = input.invitation
    ? { invitation: await newInvitationView(deps, row.id, room.id, input.invitation) }
    : {};
  const message = toView(
    deps,
    {
      ...row,
      seq: 0,
      iri: null,
      activity: null,
      editedAt: null,
      deletedAt: null,
      deletedBy: null,
      previewsRemovedAt: null,
      threadRootId: input.root?.id ?? null,
      alsoInRoom: false,
    },
    profiles,
    input.reply,
    [],
    await outboundAttachments(deps.db, row.id),
  );
  const emojis = await textEmojis(deps, { ...row, authorId: actorId }, profiles);
  return { message: { ...message, emojis, ...invitation, pending: true }, created: inserted != null };
}

/** The view of an invitation not written yet (nobody has answered a new one). */
async function newInvitationView(deps: Deps, messageId: string, roomId: string, invitation: NewInvitation) {
  const invitees = invitation.invitees ?? [];
  return toInvitationView(
    { ...invitation, messageId, roomId, invitees: invitation.invitees ? [...invitees] : null, createdAt: new Date() },
    [],
    await actorProfiles(deps, invitees),
  );
}
