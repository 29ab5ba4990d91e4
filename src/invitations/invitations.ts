/**
 * Invitations to a game, a call or an event: a message that carries an invitation card
 * (so history, search, replies and deletion need nothing new) and the invitees' answers.
 *
 * Rules: the invitees are members of the room (or everyone in it); the sender does not answer
 * their own invitation; an answer after `expiresAt` is refused (`invitation_expired`), as is one
 * from someone not invited (`not_invited`) or to a deleted message; a second answer replaces
 * the first while the invitation is open (changing one's mind is what people do), and the same
 * answer again changes nothing. Expiry is computed on read: no timer has to survive a restart.
 * @module
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { type Invitation, invitationResponses, type Message, roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { messageIn } from "../messages/messages.ts";
import { sendMessage } from "../messages/send.ts";
import type { MessageView } from "../messages/views.ts";
import { messageUrl } from "../messages/views.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { accessRoom, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { invitationOf, type NewInvitation } from "./store.ts";
import { type InvitationAnswer, type InvitationKind, type InvitationView, invitationViews } from "./views.ts";

/** How long an invitation is open unless the sender says: a day. */
export const defaultInvitationSeconds = 24 * 60 * 60;
/** The longest an invitation may stay open: a week. */
export const maxInvitationSeconds = 7 * 24 * 60 * 60;
/** At most this many people named in one invitation (more: invite everyone). */
export const maxInvitees = 50;
export const maxInvitationTitle = 200;

/** What a client asks to send. */
export interface InvitationInput {
  readonly kind: InvitationKind;
  readonly title: string;
  readonly link?: string | undefined;
  readonly startsAt?: string | undefined;
  /** Actor ids of members, or everyone in the room. */
  readonly to: "everyone" | readonly string[];
  readonly expiresIn?: number | undefined;
}

/**
 * Sends an invitation card to a room (a DM is a room): a message whose text says it in words,
 * for servers and clients that know no cards, with the invitation attached. Idempotent per
 * transaction id like any send.
 * @throws {AppError} `validation_failed` (an invitee who is not a member, or the sender), and
 *   what `sendMessage` throws (`room_not_found`, `not_a_member`, `bots_forbidden`, …).
 */
export async function sendInvitation(
  deps: Deps,
  actorId: string,
  roomId: string,
  txnId: string,
  input: InvitationInput,
  now = new Date(),
): Promise<{ message: MessageView; created: boolean }> {
  await accessRoom(deps, roomId, actorId);
  const invitees = input.to === "everyone" ? null : [...new Set(input.to)];
  if (invitees) {
    if (invitees.includes(actorId)) {
      throw new AppError("validation_failed", "One does not invite oneself.", {
        details: [{ path: "to", message: "the sender cannot be an invitee" }],
      });
    }
    const members = await deps.db
      .select({ id: roomMembers.actorId })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.actorId, invitees)));
    if (members.length !== invitees.length) {
      throw new AppError("validation_failed", "Only members of the room can be invited in it.", {
        details: [{ path: "to", message: "not a member of this room" }],
      });
    }
  }
  const invitation: NewInvitation = {
    kind: input.kind,
    title: input.title.trim(),
    link: input.link ?? null,
    startsAt: input.startsAt ? new Date(input.startsAt) : null,
    expiresAt: new Date(now.getTime() + (input.expiresIn ?? defaultInvitationSeconds) * 1000),
    invitees,
  };
  const profiles = await actorProfiles(deps, [actorId, ...(invitees ?? [])]);
  const content = invitationText(
    profiles.get(actorId)?.displayName ?? "Someone",
    invitees ? invitees.flatMap((id) => profiles.get(id)?.handle ?? []) : null,
    invitation,
  );
  return await sendMessage(deps, actorId, roomId, { txnId, content, invitation });
}

const verbs: Record<InvitationKind, string> = { game: "to play", call: "to a call:", event: "to" };

/**
 * The words of an invitation, the message's text: "Alice invites @bob to play Chess:
 * https://…". What a server or client that knows no cards shows, and what search finds.
 */
export function invitationText(
  inviter: string,
  inviteeHandles: readonly string[] | null,
  invitation: Pick<NewInvitation, "kind" | "title" | "link" | "startsAt">,
): string {
  const who = inviteeHandles ? inviteeHandles.map((h) => `@${h}`).join(", ") : "everyone";
  const when = invitation.startsAt ? ` (${invitation.startsAt.toISOString().slice(0, 16).replace("T", " ")} UTC)` : "";
  const link = invitation.link ? `: ${invitation.link}` : "";
  return `${escapeMarkdown(inviter)} invites ${who} ${verbs[invitation.kind]} **${escapeMarkdown(invitation.title)}**${when}${link}`;
}

function escapeMarkdown(text: string): string {
  // Intraword `_` opens no emphasis (CommonMark), so names like alice_1 stay as they are.
  return text.replace(/[\\`*[\]|~<>]/g, (c) => `\\${c}`);
}

/**
 * Answers an invitation: in a room hosted here it is written at once and every member sees it
 * (`invitation.updated`); in a room on another server it goes to the room's `Group`
 * (`Accept`/`Reject`), which decides, and shows here when the room announces it (`pending`).
 * @throws {AppError} `room_not_found`, `not_a_member`, `message_not_found` (also a message with
 *   no invitation, or deleted), `not_invited`, `invitation_expired`.
 */
export async function answerInvitation(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  answer: InvitationAnswer,
  now = new Date(),
): Promise<{ invitation: InvitationView; pending: boolean }> {
  const { room } = await accessRoom(deps, roomId, actorId);
  const message = await messageIn(deps, roomId, messageId);
  const invitation = await openInvitation(deps, message, actorId, now);
  if (room.iri != null) {
    await remote(deps).sendToRoom(actorId, room, {
      type: "answer-invitation",
      messageIri: messageUrl(deps, message),
      answer,
    });
    const view = (await invitationViews(deps, [message.id], now)).get(message.id);
    if (view == null) throw new Error("An invitation vanished.");
    return { invitation: view, pending: true };
  }
  return { invitation: await recordAnswer(deps, message, invitation, actorId, answer, null, now), pending: false };
}

/**
 * The invitation of a message, if `actorId` may answer it now.
 * @throws {AppError} `message_not_found`, `not_invited`, `invitation_expired`.
 */
async function openInvitation(deps: Deps, message: Message, actorId: string, now: Date): Promise<Invitation> {
  const invitation = message.deletedAt ? undefined : await invitationOf(deps.db, message.id);
  if (invitation == null) throw new AppError("message_not_found", "No invitation on this message.");
  if (message.authorId === actorId || (invitation.invitees != null && !invitation.invitees.includes(actorId))) {
    throw new AppError("not_invited", "This invitation is not for you.");
  }
  if (invitation.expiresAt.getTime() <= now.getTime()) {
    throw new AppError("invitation_expired", "This invitation has expired.");
  }
  return invitation;
}

/**
 * A remote member's answer (`Accept`/`Reject` of the invitation) in a room hosted here, held to
 * the same rules as a local one; `activity` is relayed to the other member servers as it came.
 * @returns false when refused or when it changed nothing.
 */
export async function receiveRemoteAnswer(
  deps: Deps,
  message: Message,
  actorId: string,
  answer: InvitationAnswer,
  activity: unknown,
  now = new Date(),
): Promise<boolean> {
  const member = await deps.db
    .select({ id: roomMembers.actorId })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, message.roomId), eq(roomMembers.actorId, actorId)));
  if (member.length === 0) return false;
  let invitation: Invitation;
  try {
    invitation = await openInvitation(deps, message, actorId, now);
  } catch (error) {
    if (error instanceof AppError) return false;
    throw error;
  }
  const before = await answerOf(deps, message.id, actorId);
  if (before === answer) return false;
  await recordAnswer(deps, message, invitation, actorId, answer, activity, now);
  return true;
}

/**
 * An answer a mirror takes from its room's `Group` (which judged it): written as told, without
 * the rules, since the room's server is the truth.
 */
export async function mirrorAnswer(
  deps: Deps,
  message: Message,
  actorId: string,
  answer: InvitationAnswer,
): Promise<boolean> {
  const invitation = message.deletedAt ? undefined : await invitationOf(deps.db, message.id);
  if (invitation == null) return false;
  if ((await answerOf(deps, message.id, actorId)) === answer) return false;
  await recordAnswer(deps, message, invitation, actorId, answer, null, new Date());
  return true;
}

async function answerOf(deps: Deps, messageId: string, actorId: string): Promise<InvitationAnswer | undefined> {
  const [row] = await deps.db
    .select({ answer: invitationResponses.answer })
    .from(invitationResponses)
    .where(and(eq(invitationResponses.messageId, messageId), eq(invitationResponses.actorId, actorId)));
  return row?.answer;
}

/** Writes an answer (replacing an earlier one) and tells the room, in one transaction. */
async function recordAnswer(
  deps: Deps,
  message: Message,
  invitation: Invitation,
  actorId: string,
  answer: InvitationAnswer,
  activity: unknown,
  now: Date,
): Promise<InvitationView> {
  return await deps.db.transaction(async (tx) => {
    const changed = await tx
      .insert(invitationResponses)
      .values({ messageId: invitation.messageId, actorId, answer, answeredAt: now })
      .onConflictDoUpdate({
        target: [invitationResponses.messageId, invitationResponses.actorId],
        set: { answer, answeredAt: now },
        setWhere: sql`${invitationResponses.answer} <> excluded.answer`,
      })
      .returning({ answer: invitationResponses.answer });
    const view = (await invitationViews({ ...deps, db: tx }, [message.id], now)).get(message.id);
    if (view == null) throw new Error("An invitation vanished.");
    if (changed.length > 0) {
      const [actor] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
      await appendEvents(tx, [
        {
          type: "invitation.updated",
          roomId: message.roomId,
          data: { messageId: message.id, seq: message.seq, actor: actor ?? null, answer, invitation: view },
          activity: activity ?? null,
        },
      ]);
    }
    return view;
  });
}
