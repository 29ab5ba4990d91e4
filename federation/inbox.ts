import type { Context, InboxContext, InboxListenerSetters } from "@fedify/fedify";
import {
  Accept,
  type Activity,
  Add,
  Announce,
  Block,
  Create,
  Delete,
  EmojiReact,
  Flag,
  Follow,
  Invite,
  isActor,
  Join,
  Leave,
  Like,
  Reject,
  Remove,
  Undo,
  Update,
} from "@fedify/vocab";
import { receiveContactRequest, settleRemoteContact } from "../src/contacts/contacts.ts";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { logger } from "../src/log.ts";
import { notifyActor } from "../src/notifications/notifications.ts";
import { redeemInvite } from "../src/rooms/invites.ts";
import { admitRemoteActor, removeRemoteMember } from "../src/rooms/remote.ts";
import { withdrawRemoteJoin } from "../src/rooms/withdrawn-joins.ts";
import { isSelfDelete, onActorDelete, onUnverifiedDelete } from "./inbox-actors.ts";
import { onFlag } from "./inbox-flags.ts";
import { hostedRoom, onCreate, onDelete, onReaction, onUpdate, senderId } from "./inbox-messages.ts";
import { onAnnounce, onAnswer, onMembership } from "./inbox-mirror.ts";
import { onFeatured } from "./inbox-pins.ts";
import { localActorIri } from "./notes.ts";
import { actorIdFor, fetchGroup, mirrorOf, rememberGroup, sameOrigin, storedActorId } from "./remote.ts";
import { roomIdentifier } from "./rooms.ts";
import { learnSoftware } from "./software.ts";

const log = logger("inbox");

/** Answers a join request from the room's `Group`. */
async function answerJoin(ctx: Context<Deps>, room: Room, request: Follow | Join, accepted: boolean) {
  if (request.actorId == null) return;
  const identifier = roomIdentifier(room.id);
  const group = ctx.getActorUri(identifier);
  const Answer = accepted ? Accept : Reject;
  const actor = await ctx.lookupObject(request.actorId.href).catch(() => null);
  if (actor == null || !isActor(actor)) return;
  await ctx.sendActivity(
    { identifier },
    actor,
    new Answer({
      id: new URL(`${group.href}#${accepted ? "accept" : "reject"}-${encodeURIComponent(request.id?.href ?? "")}`),
      actor: group,
      object: request,
      to: request.actorId,
    }),
    { orderingKey: room.id },
  );
}

/** `Follow` or `Join` of a room hosted here: admitted (public, invited, or with an invite code) or refused. */
async function onJoin(ctx: InboxContext<Deps>, request: Follow | Join) {
  const deps = ctx.data;
  if (request instanceof Follow && (await onContactRequest(ctx, request))) return;
  const room = await hostedRoom(deps, request.objectId);
  if (room == null) return;
  const actorId = await senderId(ctx, request);
  if (actorId == null) return;
  let accepted = true;
  try {
    const code =
      request instanceof Join && request.instrumentId
        ? /^\/invite\/([A-Za-z0-9_-]{16,64})$/.exec(
            sameOrigin(request.instrumentId, new URL(deps.config.origin)) ? request.instrumentId.pathname : "",
          )?.[1]
        : undefined;
    const joinIri = request instanceof Join ? request.id?.href : undefined;
    if (code) {
      const invited = await redeemInvite(deps, actorId, code, joinIri);
      if (invited.id !== room.id) throw new AppError("forbidden", "The invite is for another room.");
    } else {
      await admitRemoteActor(deps, room.id, actorId, joinIri);
    }
    // What its server runs decides how it is told of messages: learnt now, before the first.
    if (request.actorId) learnSoftware(deps, request.actorId.origin);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    log.info("Refused {actor} in room {room}: {code}", {
      actor: request.actorId?.href,
      room: room.id,
      code: error.code,
    });
    accepted = false;
  }
  await answerJoin(ctx, room, request, accepted);
}

/** A local user and someone elsewhere, by the IRIs of an activity between them. */
async function contactPair(ctx: Context<Deps>, remoteIri: URL | null, localIri: URL | null) {
  if (remoteIri == null || localIri == null) return undefined;
  if (localIri.origin !== new URL(ctx.data.config.origin).origin || remoteIri.origin === localIri.origin)
    return undefined;
  if (!/^\/users\/[a-z0-9_]{3,32}$/.test(localIri.pathname)) return undefined;
  const localId = await actorIdFor(ctx, localIri);
  const remoteId = localId ? await actorIdFor(ctx, remoteIri) : undefined;
  return localId && remoteId ? { localId, remoteId } : undefined;
}

/**
 * A `Follow` of a local user is a contact request from someone elsewhere. Answered `Accept` at
 * once when the local user had asked them too, `Reject` when either blocks the other; else it
 * waits for the local user.
 * @returns Whether the activity was a contact request.
 */
async function onContactRequest(ctx: InboxContext<Deps>, follow: Follow): Promise<boolean> {
  const pair = await contactPair(ctx, follow.actorId, follow.objectId);
  if (pair == null || follow.id == null) return false;
  const federator = ctx.data.federation;
  try {
    const contacts = await receiveContactRequest(ctx.data, pair.remoteId, pair.localId, follow.id.href);
    if (contacts) await federator?.sendContact(pair.localId, pair.remoteId, "accept", follow.id.href);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await federator?.sendContact(pair.localId, pair.remoteId, "reject", follow.id.href);
  }
  return true;
}

/** `Leave`, or `Undo{Follow}`: the actor leaves a room hosted here. */
async function onLeave(ctx: InboxContext<Deps>, activity: Activity, groupIri: URL | null) {
  const deps = ctx.data;
  const room = await hostedRoom(deps, groupIri);
  if (room == null || activity.actorId == null) return;
  const actorId = await storedActorId(deps, activity.actorId);
  if (actorId) await removeRemoteMember(deps, room.id, actorId, "left");
}

/**
 * `Undo{Join}`: the actor leaves a room hosted here, and the join is refused should it be
 * handled after this (src/rooms/withdrawn-joins.ts).
 */
async function onWithdrawnJoin(ctx: InboxContext<Deps>, undo: Activity, joinIri: URL, groupIri: URL | null) {
  const deps = ctx.data;
  const room = await hostedRoom(deps, groupIri);
  const actorId = room && undo.actorId ? await storedActorId(deps, undo.actorId) : undefined;
  await withdrawRemoteJoin(deps, joinIri.href, room && actorId ? { roomId: room.id, actorId } : undefined);
}

/** An `Invite` of a local user into a remote room: the user is told, and may then join it. */
async function onInvite(ctx: InboxContext<Deps>, invite: Invite) {
  const deps = ctx.data;
  const groupId = invite.objectId;
  const target = invite.targetId;
  const link = invite.instrumentId;
  if (groupId == null || target == null || link == null || !sameOrigin(groupId, invite.actorId)) return;
  if (!sameOrigin(link, groupId) || !/^\/invite\/[A-Za-z0-9_-]{16,64}$/.test(link.pathname)) return;
  const invited = await localActorIri(deps, (await actorIdFor(ctx, target)) ?? "");
  if (invited == null || invited.iri.href !== target.href) return;
  // Read as the invited user: a private room shows its name to the servers of those it invited.
  const group = await fetchGroup(ctx, groupId.href, invited.identifier);
  if (group?.id?.href !== groupId.href) return;
  const room = await rememberGroup(deps, group);
  const attributed = invite.attributionId ?? invite.actorId;
  const fromId = attributed ? await actorIdFor(ctx, attributed) : undefined;
  const invitedId = await actorIdFor(ctx, target);
  if (fromId == null || invitedId == null) return;
  await deps.db.transaction((tx) =>
    notifyActor(deps, tx, {
      actorId: invitedId,
      type: "invite",
      fromId,
      roomId: room.id,
      data: { url: link.href, roomName: room.name },
    }),
  );
}

/** Registers every inbox handler: rooms hosted here, mirrors of remote rooms, users' inboxes. */
export function inboxHandlers(listeners: InboxListenerSetters<Deps>): void {
  listeners
    .on(Follow, onJoin)
    .on(Join, onJoin)
    .on(Leave, (ctx, leave) => onLeave(ctx, leave, leave.objectId))
    .on(Undo, async (ctx, undo) => {
      const object = await undo.getObject({ crossOrigin: "ignore" }).catch(() => null);
      if (object instanceof Follow || object instanceof Join) {
        if (object.actorId?.href !== undo.actorId?.href) return;
        const pair = object instanceof Follow ? await contactPair(ctx, object.actorId, object.objectId) : undefined;
        if (pair && object.id)
          await settleRemoteContact(ctx.data, pair.remoteId, pair.localId, object.id.href, "withdrawn");
        else if (object instanceof Join && object.id && object.id.origin === undo.actorId?.origin) {
          await onWithdrawnJoin(ctx, undo, object.id, object.objectId);
        } else await onLeave(ctx, undo, object.objectId);
      } else if (object instanceof Like || object instanceof EmojiReact) {
        await onReaction(ctx, object, false, undo);
      }
    })
    .on(Create, onCreate)
    .on(Update, (ctx, update) => onUpdate(ctx, update))
    .on(Delete, async (ctx, del) => {
      // A room's own delete (a moderator's, or of the room itself) comes straight from its Group.
      const mirror = del.actorId ? await mirrorOf(ctx.data, del.actorId) : undefined;
      // An account deleted by its own server (Mastodon's `Delete` of the actor by itself); a
      // Group we mirror deleting itself is the room's end, not an account's.
      if (mirror == null && isSelfDelete(del)) return await onActorDelete(ctx, del);
      await onDelete(ctx, del, mirror);
    })
    .on(Like, (ctx, like) => onReaction(ctx, like, true, like))
    .on(EmojiReact, (ctx, react) => onReaction(ctx, react, true, react))
    .on(Announce, onAnnounce)
    // Pins name a `featured` collection as the target; membership changes, the members.
    .on(Add, async (ctx, add) => {
      if (!(await onFeatured(ctx, add))) await onMembership(ctx, add);
    })
    .on(Remove, async (ctx, remove) => {
      if (!(await onFeatured(ctx, remove))) await onMembership(ctx, remove);
    })
    .on(Block, onMembership)
    .on(Accept, onAnswer)
    .on(Reject, onAnswer)
    .on(Invite, onInvite)
    .on(Flag, onFlag)
    .onUnverifiedActivity(onUnverifiedDelete)
    .onError((_ctx, error) => {
      log.warn("An inbox activity failed: {error}", { error });
    });
}
