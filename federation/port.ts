import type { Context, Federation } from "@fedify/fedify";
import {
  Accept,
  Add,
  Follow,
  Group,
  Invite,
  isActor,
  Join,
  Leave,
  Note,
  Reject,
  Remove,
  Source,
  Undo,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { and, eq } from "drizzle-orm";
import { actors, type Room, roomMembers } from "../src/db/schema.ts";
import type { Deps, Federator, RemoteRoomAction } from "../src/deps.ts";
import { outgoingTextEmoji } from "../src/emoji/usage.ts";
import { AppError } from "../src/errors.ts";
import { addPendingJoin } from "../src/rooms/pending-joins.ts";
import { emojiObject } from "./emoji.ts";
import { sendRead, sendTyping } from "./ephemeral.ts";
import { forwardFlag } from "./forward-flag.ts";
import { answerActivity } from "./invitations.ts";
import {
  addressing,
  createActivity,
  deleteActivity,
  localActorIri,
  reactionActivity,
  toNote,
  updateActivity,
} from "./notes.ts";
import { sendPresence } from "./presence.ts";
import { fetchGroup, hostOf, isBlockedHost, recipient, rememberActor, rememberGroup } from "./remote.ts";
import { roomAudience, roomIdentifier } from "./rooms.ts";

/** A context for work that is not a request (the domain calling out). */
function contextOf(federation: Federation<Deps>, deps: Deps): Context<Deps> {
  return federation.createContext(new URL(deps.config.origin), deps);
}

/**
 * What the user typed as a target, as something `lookupObject` takes: a URL, or `acct:` for a
 * handle. WebFinger is always HTTPS; with the loopback test setting on, a handle is also
 * looked up over plain HTTP (two test servers on 127.0.0.1 have no certificates).
 */
async function lookupTarget(deps: Deps, target: string): Promise<string> {
  const handle = /^@?([^@\s/]+)@([^@\s/]+)$/.exec(target.trim());
  if (handle == null) return target.trim();
  const acct = `acct:${handle[1]}@${handle[2]}`;
  if (!deps.config.allowPrivateAddress) return acct;
  try {
    const url = new URL(`http://${handle[2]}/.well-known/webfinger`);
    url.searchParams.set("resource", acct);
    const res = await fetch(url, { headers: { accept: "application/jrd+json" }, redirect: "error" });
    const jrd = (await res.json()) as { links?: { rel?: string; type?: string; href?: string }[] };
    const self = jrd.links?.find((l) => l.rel === "self" && l.href && /activity\+json|ld\+json/.test(l.type ?? ""));
    return self?.href ?? acct;
  } catch {
    return acct;
  }
}

async function refuseBlocked(deps: Deps, target: string) {
  let host: string | undefined;
  try {
    host = target.includes("://") ? hostOf(target) : target.split("@").at(-1)?.toLowerCase();
  } catch {
    host = undefined;
  }
  if (host && (await isBlockedHost(deps, host))) {
    throw new AppError("server_blocked", `This server does not federate with ${host}.`);
  }
}

/** Re-reads a mirrored room's `Group`, signed as a local member (private rooms show more to members). */
export async function refreshMirror(ctx: Context<Deps>, mirror: Room, actorId: string): Promise<Group | undefined> {
  if (mirror.iri == null) return undefined;
  const signer = await localActorIri(ctx.data, actorId);
  const group = await fetchGroup(ctx, mirror.iri, signer?.identifier);
  if (group?.id?.href !== mirror.iri) return undefined;
  await rememberGroup(ctx.data, group);
  return group;
}

/** The `Group` of a mirrored room as a recipient. */
function groupRecipient(room: Room) {
  if (room.iri == null || room.inbox == null) throw new AppError("remote_unreachable", "The room's server is unknown.");
  return {
    id: new URL(room.iri),
    inboxId: new URL(room.inbox),
    endpoints: room.sharedInbox ? { sharedInbox: new URL(room.sharedInbox) } : null,
  };
}

/** The federation side of the domain's {@link Federator} port. */
export function createFederator(federation: Federation<Deps>, deps: Deps): Federator {
  return {
    async lookupActor(target) {
      await refuseBlocked(deps, target);
      const ctx = contextOf(federation, deps);
      const found = await ctx.lookupObject(await lookupTarget(deps, target)).catch(() => null);
      if (found == null || !isActor(found) || found.id == null || found instanceof Group) return undefined;
      if (found.id.origin === new URL(deps.config.origin).origin) return undefined;
      return await rememberActor(deps, found);
    },

    async joinRemoteRoom(actorId, target) {
      await refuseBlocked(deps, target);
      const ctx = contextOf(federation, deps);
      const user = await localActorIri(deps, actorId);
      if (user == null) throw new AppError("forbidden", "Only local users join rooms from here.");
      const invite = /^https?:\/\/[^/]+\/invite\/[A-Za-z0-9_-]{16,64}$/.test(target) ? new URL(target) : undefined;
      const group = await fetchGroup(ctx, await lookupTarget(deps, target), user.identifier);
      if (group?.id == null || group.inboxId == null) throw new AppError("room_not_found", "No room was found there.");
      if (invite && invite.origin !== group.id.origin) throw new AppError("room_not_found", "No room was found there.");
      await refuseBlocked(deps, group.id.href);
      const room = await rememberGroup(deps, group);
      const [member] = await deps.db
        .select()
        .from(roomMembers)
        .where(and(eq(roomMembers.roomId, room.id), eq(roomMembers.actorId, actorId)));
      if (member) return room.id;
      const activityIri = await addPendingJoin(
        deps,
        room.id,
        actorId,
        `${user.iri.href}#join-${room.id}-${Date.now()}`,
      );
      const join = new Join({
        id: new URL(activityIri),
        actor: user.iri,
        object: group.id,
        to: group.id,
        instrument: invite ?? null,
      });
      await ctx.sendActivity({ identifier: user.identifier }, groupRecipient(room), join, { orderingKey: room.id });
      return room.id;
    },

    async inviteToRoom(room, inviterId, actorId, inviteUrl) {
      const ctx = contextOf(federation, deps);
      const [target] = await deps.db.select().from(actors).where(eq(actors.id, actorId));
      if (target?.iri == null || target.inbox == null) throw new AppError("user_not_found", "No such remote user.");
      const identifier = roomIdentifier(room.id);
      const group = ctx.getActorUri(identifier);
      const invitee = new URL(target.iri);
      const inviter = await localActorIri(deps, inviterId);
      await ctx.sendActivity(
        { identifier },
        recipient(target),
        new Invite({
          id: new URL(`${group.href}#invite-${encodeURIComponent(invitee.href)}-${Date.now()}`),
          actor: group,
          object: group,
          target: invitee,
          to: invitee,
          instrument: new URL(inviteUrl),
          ...(inviter ? { attribution: inviter.iri } : {}),
        }),
        { orderingKey: room.id },
      );
    },

    async sendContact(actorId, remoteId, action, iri) {
      const ctx = contextOf(federation, deps);
      const user = await localActorIri(deps, actorId);
      const [other] = await deps.db.select().from(actors).where(eq(actors.id, remoteId));
      if (user == null || other?.iri == null || other.inbox == null)
        throw new AppError("user_not_found", "No such remote user.");
      const them = new URL(other.iri);
      // Our request follows them; theirs followed us.
      const follow =
        action === "follow" || action === "undo"
          ? new Follow({ id: new URL(iri), actor: user.iri, object: them })
          : new Follow({ id: new URL(iri), actor: them, object: user.iri });
      const activity =
        action === "follow"
          ? follow
          : action === "undo"
            ? new Undo({ id: new URL(`${iri}#undo-${Date.now()}`), actor: user.iri, object: follow, to: them })
            : new (action === "accept" ? Accept : Reject)({
                id: new URL(`${user.iri.href}#${action}-${encodeURIComponent(iri)}`),
                actor: user.iri,
                object: follow,
                to: them,
              });
      await ctx.sendActivity({ identifier: user.identifier }, recipient(other), activity);
    },

    async sendToRoom(actorId, room, action) {
      const ctx = contextOf(federation, deps);
      const user = await localActorIri(deps, actorId);
      if (user == null || room.iri == null) throw new AppError("forbidden", "Only local users act from here.");
      const activity = await activityFor(ctx, user, room, action);
      await ctx.sendActivity({ identifier: user.identifier }, groupRecipient(room), activity, {
        orderingKey: room.id,
      });
    },

    async sendTyping(actorId, room, typing) {
      await sendTyping(contextOf(federation, deps), actorId, room, typing);
    },

    async sendRead(actorId, room, seq) {
      await sendRead(contextOf(federation, deps), actorId, room, seq);
    },

    async sendPresence(actorIds, status) {
      await sendPresence(contextOf(federation, deps), actorIds, status);
    },

    async forwardReport(actorId, objectIris, comment, reportId) {
      await forwardFlag(contextOf(federation, deps), actorId, objectIris, comment, reportId);
    },
  };
}

async function activityFor(
  ctx: Context<Deps>,
  user: { iri: URL; identifier: string },
  room: Room,
  action: RemoteRoomAction,
) {
  const deps = ctx.data;
  const audience = roomAudience(ctx, room);
  const group = audience.group;
  switch (action.type) {
    case "create": {
      const note = await toNote(
        deps,
        {
          id: action.id,
          iri: null,
          content: action.content,
          html: action.html,
          createdAt: new Date(),
          editedAt: null,
          replyTo: null,
          threadRootId: null,
        },
        user.iri,
        audience,
      );
      const thread = action.thread ? new URL(action.thread) : null;
      const inReplyTo = action.inReplyTo ? new URL(action.inReplyTo) : thread;
      // A thread reply: see toNote (FEP-7888 `context`).
      const withReply = inReplyTo
        ? note.clone({ replyTarget: inReplyTo, ...(thread ? { contexts: [thread] } : {}) })
        : note;
      return createActivity(withReply, user.iri);
    }
    case "update": {
      const at = new Date();
      const note = new Note({
        id: new URL(action.messageIri),
        attribution: user.iri,
        content: action.html,
        source: new Source({ content: action.content, mediaType: "text/markdown" }),
        tags: (await outgoingTextEmoji(deps, action.content)).map(emojiObject),
        updated: Temporal.Instant.fromEpochMilliseconds(at.getTime()),
        ...addressing(audience),
        audience: group,
      });
      return updateActivity(note, user.iri, at);
    }
    case "delete":
      return deleteActivity(action.messageIri, user.iri, group);
    case "react":
      return await reactionActivity(deps, user.iri, action.messageIri, action.emoji, action.on, group);
    case "pin": {
      // Lemmy's moderators feature a post the same way: `Add`/`Remove` to the community, with
      // its `featured` as the target; the room's server checks the role.
      if (room.featured == null) throw new AppError("remote_unreachable", "The room's server takes no pins.");
      const Change = action.on ? Add : Remove;
      return new Change({
        id: new URL(
          `${user.iri.href}#${action.on ? "pin" : "unpin"}-${encodeURIComponent(action.messageIri)}-${Date.now()}`,
        ),
        actor: user.iri,
        object: new URL(action.messageIri),
        target: new URL(room.featured),
        to: group,
        audience: group,
      });
    }
    case "answer-invitation":
      return answerActivity(user.iri, action.messageIri, action.answer, group);
    case "cancel-join":
      return new Undo({
        id: new URL(`${action.joinIri}-undo`),
        actor: user.iri,
        object: new Join({ id: new URL(action.joinIri), actor: user.iri, object: group, to: group }),
        to: group,
      });
    case "leave":
      return new Leave({
        id: new URL(`${user.iri.href}#leave-${Date.now()}`),
        actor: user.iri,
        object: group,
        to: group,
      });
  }
}
