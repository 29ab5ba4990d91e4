import {
  type Context,
  type DocumentLoader,
  type InboxContext,
  type InboxListenerSetters,
  verifyObject,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Add,
  Announce,
  type Object as APObject,
  Block,
  ChatMessage,
  Create,
  Delete,
  EmojiReact,
  Follow,
  Group,
  Invite,
  isActor,
  Join,
  Leave,
  Like,
  Note,
  Reject,
  Remove,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { and, eq, isNull } from "drizzle-orm";
import { receiveContactRequest, settleRemoteContact } from "../src/contacts/contacts.ts";
import { actors, contactRequests, pendingJoins, type Room, roomMembers, rooms } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { storableJson } from "../src/json.ts";
import { logger } from "../src/log.ts";
import {
  applyRemoteDelete,
  applyRemoteEdit,
  applyRemoteReaction,
  holdEarlyEdit,
  messageByIri,
  type RemoteNote,
  storeRemoteMessage,
} from "../src/messages/remote.ts";
import { notifyActor } from "../src/notifications/notifications.ts";
import { redeemInvite } from "../src/rooms/invites.ts";
import { admitRemoteActor, recordRemoteBan, removeRemoteMember, settlePendingJoin } from "../src/rooms/remote.ts";
import { addMember } from "../src/rooms/rooms.ts";
import { appendEvents } from "../src/stream/events.ts";
import { localActorIri, mentionedLocals, noteContent, reactionKeyOf } from "./notes.ts";
import { refreshMirror } from "./port.ts";
import { actorIdFor, fetchGroup, mirrorOf, rememberActor, rememberGroup, sameOrigin, storedActorId } from "./remote.ts";
import { roomIdentifier, roomOf } from "./rooms.ts";

const log = logger("inbox");

/** The number a relayed `Create` has in its room: our rooms announce at `<group>/history/<seq>`. */
function announcedSeq(announce: Announce, group: URL): number | undefined {
  return announce.id ? announcedSeqOf(announce.id.href, group) : undefined;
}

function announcedSeqOf(id: string, group: URL): number | undefined {
  const prefix = `${group.href}/history/`;
  if (!id.startsWith(prefix)) return undefined;
  const seq = Number(id.slice(prefix.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

/** A room hosted here, by its `Group` IRI. */
async function hostedRoom(deps: Deps, iri: URL | null | undefined): Promise<Room | undefined> {
  if (iri == null || iri.origin !== new URL(deps.config.origin).origin) return undefined;
  return await roomOf(deps, iri.pathname.slice(1));
}

/**
 * The room hosted here that an activity (and its object) is addressed to: `to`, `cc`,
 * `audience`, `context`, a mention of the `Group`, or, for a reply, the replied message's room.
 */
async function addressedRoom(deps: Deps, activity: Activity, object?: APObject | null): Promise<Room | undefined> {
  const candidates: URL[] = [
    ...activity.toIds,
    ...activity.ccIds,
    ...(activity.audienceId ? [activity.audienceId] : []),
    ...(object ? [...object.toIds, ...object.ccIds, ...(object.audienceId ? [object.audienceId] : [])] : []),
    ...(object?.contextIds ?? []),
  ];
  if (object) {
    let count = 0;
    for await (const tag of object.getTags({ suppressError: true })) {
      if (++count > 50) break;
      if ("href" in tag && tag.href instanceof URL) candidates.push(tag.href);
    }
  }
  for (const iri of candidates.slice(0, 100)) {
    const room = await hostedRoom(deps, iri);
    if (room) return room;
  }
  if (object instanceof Note && object.replyTargetId) {
    const reply = await messageByIri(deps, object.replyTargetId.href);
    if (reply) {
      const [room] = await deps.db
        .select()
        .from(rooms)
        .where(and(eq(rooms.id, reply.roomId), isNull(rooms.iri), isNull(rooms.deletedAt)));
      return room;
    }
  }
  return undefined;
}

/** What the domain stores of a remote note (its `activity` is relayed by rooms hosted here). */
async function remoteNote(
  deps: Deps,
  iri: URL,
  object: APObject,
  authorId: string,
  content: Pick<RemoteNote, "content" | "html" | "attachments">,
  activity: unknown,
): Promise<RemoteNote> {
  return {
    iri: iri.href,
    authorId,
    ...content,
    inReplyTo: object instanceof Note ? (object.replyTargetId?.href ?? null) : null,
    published: object.published ? new Date(object.published.epochMilliseconds) : null,
    mentioned: await mentionedLocals(deps, object),
    activity,
  };
}

/** The activity's JSON as received (Fedify keeps the parsed document). */
async function rawJson(ctx: Context<Deps>, activity: Activity): Promise<Record<string, unknown>> {
  // Kept in jsonb: a document fetched from elsewhere may hold text PostgreSQL cannot store.
  return storableJson(
    (await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader })) as Record<string, unknown>,
  );
}

/** The actor of an activity, stored; undefined when it cannot be resolved. */
async function senderId(ctx: Context<Deps>, activity: Activity): Promise<string | undefined> {
  if (activity.actorId == null) return undefined;
  return await actorIdFor(ctx, activity.actorId);
}

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
    if (code) {
      const invited = await redeemInvite(deps, actorId, code);
      if (invited.id !== room.id) throw new AppError("forbidden", "The invite is for another room.");
    } else {
      await admitRemoteActor(deps, room.id, actorId);
    }
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
 * `Create{Note}` into a room hosted here: the author must be a member (a public room admits a
 * newcomer, so a Mastodon post mentioning the room lands in it); the message gets the next
 * number and the room announces the author's activity to every member server.
 */
async function onCreate(ctx: InboxContext<Deps>, create: Create) {
  const deps = ctx.data;
  const object = await create.getObject({ crossOrigin: "ignore" }).catch(() => null);
  if (object == null || object.id == null) return;
  if (!(object instanceof Note || object instanceof ChatMessage)) return;
  // Only the author's own server speaks for the author.
  if (!sameOrigin(object.id, create.actorId) || object.attributionId?.href !== create.actorId?.href) return;
  const room = await addressedRoom(deps, create, object);
  if (room == null) return;
  const content = await noteContent(object);
  if (content == null) return;
  const authorId = await senderId(ctx, create);
  if (authorId == null) return;
  const [member] = await deps.db
    .select()
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, room.id), eq(roomMembers.actorId, authorId)));
  if (member == null) {
    if (room.visibility !== "public") return;
    try {
      await admitRemoteActor(deps, room.id, authorId);
    } catch (error) {
      if (error instanceof AppError) return;
      throw error;
    }
  }
  await storeRemoteMessage(
    deps,
    room.id,
    await remoteNote(deps, object.id, object, authorId, content, await rawJson(ctx, create)),
  ).catch((error) => {
    if (error instanceof AppError) return undefined;
    throw error;
  });
}

/** `Update` of a message by its author (relayed by a room hosted here), or of an actor's profile. */
async function onUpdate(ctx: Context<Deps>, update: Update, mirror?: Room) {
  const deps = ctx.data;
  const object = await update.getObject({ crossOrigin: "ignore" }).catch(() => null);
  if (object == null || object.id == null || !sameOrigin(object.id, update.actorId)) return;
  if (isActor(object)) {
    if (object.id.href !== update.actorId?.href) return;
    if (object instanceof Group && mirror == null && (await mirrorOf(deps, object.id)))
      await rememberGroup(deps, object);
    else if (!(object instanceof Group) && (await storedActorId(deps, object.id))) await rememberActor(deps, object);
    return;
  }
  if (object.attributionId?.href !== update.actorId?.href) return;
  const message = await messageByIri(deps, object.id.href);
  if (message != null && mirror && message.roomId !== mirror.id) return;
  const authorId = await actorIdFor(ctx, update.actorId as URL);
  if (authorId == null || (message != null && authorId !== message.authorId)) return;
  const content = await noteContent(object);
  if (content == null) return;
  const edit = {
    content: content.content,
    html: content.html,
    mentioned: await mentionedLocals(deps, object),
    updated: object.updated ? new Date(object.updated.epochMilliseconds) : null,
    activity: await rawJson(ctx, update),
  };
  // The Update overtook its Create: held until the message comes, so it ends with this text.
  if (message == null) await holdEarlyEdit(deps, object.id.href, authorId, edit);
  else await applyRemoteEdit(deps, message, edit, mirror == null);
}

/**
 * `Delete` of a message: by its author's server, or by the room's `Group` (a moderator's
 * delete). A message not here yet leaves a tombstone. A `Group` deleting itself deletes the
 * mirror.
 */
async function onDelete(ctx: Context<Deps>, del: Delete, mirror?: Room, seq?: number) {
  const deps = ctx.data;
  const objectId = del.objectId;
  if (objectId == null || del.actorId == null) return;
  if (mirror && objectId.href === mirror.iri && del.actorId.href === mirror.iri) {
    await deleteMirror(deps, mirror);
    return;
  }
  const message = await messageByIri(deps, objectId.href);
  const byGroup = mirror != null && del.actorId.href === mirror.iri;
  if (!byGroup && !sameOrigin(objectId, del.actorId)) return;
  if (message) {
    if (mirror && message.roomId !== mirror.id) return;
    if (!byGroup) {
      const authorId = await actorIdFor(ctx, del.actorId);
      if (authorId == null || authorId !== message.authorId) return;
    }
    const [row] = byGroup ? [] : [await actorIdFor(ctx, del.actorId)];
    await applyRemoteDelete(deps, objectId.href, row ?? null, await rawJson(ctx, del), mirror == null);
  } else {
    const numbered = byGroup && seq != null ? { roomId: mirror.id, seq } : undefined;
    await applyRemoteDelete(deps, objectId.href, null, null, false, numbered);
  }
}

/** A reaction (`Like`, `EmojiReact`) or its `Undo`, from a member. */
async function onReaction(
  ctx: Context<Deps>,
  reaction: Like | EmojiReact,
  on: boolean,
  source: Activity,
  mirror?: Room,
) {
  const deps = ctx.data;
  if (reaction.objectId == null || reaction.actorId == null) return;
  if (source.actorId?.href !== reaction.actorId.href) return;
  const message = await messageByIri(deps, reaction.objectId.href);
  if (message == null) return;
  if (mirror && message.roomId !== mirror.id) return;
  const key = reactionKeyOf(reaction);
  if (key == null) return;
  const actorId = await senderId(ctx, reaction);
  if (actorId == null) return;
  if (mirror == null) {
    const [room] = await deps.db
      .select()
      .from(rooms)
      .where(and(eq(rooms.id, message.roomId), isNull(rooms.iri)));
    const [member] = await deps.db
      .select()
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, message.roomId), eq(roomMembers.actorId, actorId)));
    if (room == null || member == null) return;
  }
  await applyRemoteReaction(
    deps,
    message,
    { actorId, key, iri: reaction.id?.href ?? null },
    on,
    await rawJson(ctx, source),
    mirror == null,
  );
}

async function deleteMirror(deps: Deps, mirror: Room) {
  await deps.db.transaction(async (tx) => {
    const former = await tx.delete(roomMembers).where(eq(roomMembers.roomId, mirror.id)).returning();
    await tx.update(rooms).set({ deletedAt: new Date() }).where(eq(rooms.id, mirror.id));
    await appendEvents(
      tx,
      former.map(({ actorId }) => ({ type: "room.deleted" as const, actorId, data: { roomId: mirror.id } })),
    );
  });
}

/**
 * An activity relayed by a remote room's `Group` (`Announce`). Only the room's own server may
 * announce into it; the inner activity counts when its author's integrity proof checks out,
 * or else as re-fetched from its origin.
 */
async function onAnnounce(ctx: InboxContext<Deps>, announce: Announce) {
  const deps = ctx.data;
  if (announce.actorId == null) return;
  const mirror = await mirrorOf(deps, announce.actorId);
  if (mirror == null || mirror.deletedAt) return;
  const json = await rawJson(ctx, announce);
  const inner = await trustedInner(ctx, json.object, json["@context"]);
  if (inner == null) {
    log.info("Dropped an Announce from {group}: its object could not be verified.", { group: mirror.iri });
    return;
  }
  await applyInMirror(ctx, mirror, inner, announcedSeq(announce, announce.actorId));
}

/**
 * The activity inside an `Announce`, if it can be trusted: its proof verifies against its
 * actor's key, or the object it is about re-fetches from its origin.
 */
async function trustedInner(ctx: Context<Deps>, object: unknown, context: unknown): Promise<Activity | undefined> {
  const loaders = { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader };
  if (object != null && typeof object === "object" && !Array.isArray(object)) {
    const document = ("@context" in object ? object : { "@context": context, ...object }) as Record<string, unknown>;
    const parsed = await Activity.fromJsonLd(document, loaders).catch(() => undefined);
    if (parsed == null) return undefined;
    // A proof counts only when made by a key of the actor's own server: a key document
    // elsewhere may claim any actor as its controller.
    const proofs = "proof" in object ? [object.proof].flat() : [];
    const ownProofs = proofs.every((proof) => {
      const method = (proof as { verificationMethod?: unknown } | null)?.verificationMethod;
      return typeof method === "string" && URL.canParse(method) && sameOrigin(new URL(method), parsed.actorId);
    });
    if ("proof" in object && ownProofs) {
      // Embedding strips the signer's own `@context`; Fedify-made activities are signed as
      // they serialise on their own, so that form is tried too.
      const standalone = await parsed.clone({}).toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
      for (const candidate of [document, standalone]) {
        const verified = await verifyObject(parsed.constructor as typeof Activity, candidate, loaders).catch(
          () => null,
        );
        if (verified) return verified;
      }
      log.info("A relayed activity's proof did not verify: {id}", { id: parsed.id?.href });
    }
    // No usable proof: believe only what the origin itself serves.
    return await refetch(ctx, parsed);
  }
  if (typeof object === "string") {
    const fetched = await ctx.lookupObject(object).catch(() => null);
    return fetched instanceof Activity ? fetched : undefined;
  }
  return undefined;
}

/**
 * Re-fetches what an unverified relayed activity is about from its origin: a `Create` or
 * `Update` is replaced by the `Note` as its author's server serves it now; a `Delete` counts
 * when the note is gone there. Anything else is dropped.
 */
async function refetch(ctx: Context<Deps>, parsed: Activity): Promise<Activity | undefined> {
  if (parsed.actorId == null || parsed.id == null || !sameOrigin(parsed.id, parsed.actorId)) {
    return undefined;
  }
  const objectId = parsed.objectId;
  if (objectId == null || !sameOrigin(objectId, parsed.actorId)) return undefined;
  const current = await ctx.lookupObject(objectId.href).catch(() => null);
  if (parsed instanceof Create || parsed instanceof Update) {
    if (!(current instanceof Note) || current.attributionId?.href !== parsed.actorId.href) return undefined;
    const Cls = parsed instanceof Create ? Create : Update;
    return new Cls({ id: parsed.id, actor: parsed.actorId, object: current });
  }
  if (parsed instanceof Delete) {
    return current == null || current instanceof Tombstone
      ? new Delete({ id: parsed.id, actor: parsed.actorId, object: objectId })
      : undefined;
  }
  return undefined;
}

/** Applies a relayed activity to the mirror of the room that relayed it. */
async function applyInMirror(
  ctx: Context<Deps>,
  mirror: Room,
  inner: Activity,
  seq: number | undefined,
  fillGaps = true,
) {
  const deps = ctx.data;
  if (inner instanceof Create || (inner instanceof Update && seq != null)) {
    // A history page carries a message's latest activity: an `Update` there stands for both.
    const object = await inner.getObject({ crossOrigin: "ignore" }).catch(() => null);
    if (object == null || object.id == null || !sameOrigin(object.id, inner.actorId)) return;
    if (object.attributionId?.href !== inner.actorId?.href) return;
    const content = await noteContent(object);
    const authorId = await senderId(ctx, inner);
    if (content == null || authorId == null) return;
    const before = mirror.lastSeq;
    await storeRemoteMessage(
      deps,
      mirror.id,
      await remoteNote(deps, object.id, object, authorId, content, null),
      seq ?? before + 1,
    );
    // A number past the next one means some were missed: fetch them from the room's history.
    if (fillGaps && seq != null && seq > before + 1) await backfill(ctx, mirror, before);
    if (inner instanceof Update) await onUpdate(ctx, inner, mirror);
  } else if (inner instanceof Update) {
    await onUpdate(ctx, inner, mirror);
  } else if (inner instanceof Delete) {
    await onDelete(ctx, inner, mirror, seq);
  } else if (inner instanceof Like || inner instanceof EmojiReact) {
    await onReaction(ctx, inner, true, inner, mirror);
  } else if (inner instanceof Undo) {
    const reaction = await inner.getObject({ crossOrigin: "ignore" }).catch(() => null);
    if (reaction instanceof Like || reaction instanceof EmojiReact)
      await onReaction(ctx, reaction, false, inner, mirror);
  }
}

/** Most history pages one backfill reads (50 messages each). */
const maxBackfillPages = 20;

/**
 * A document loader that signs as one of our members of a mirrored room (a private room shows
 * its history only to member servers), or unsigned when none of ours is in it.
 */
export async function memberLoader(ctx: Context<Deps>, mirror: Room): Promise<DocumentLoader> {
  const [local] = await ctx.data.db
    .select({ actorId: roomMembers.actorId })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .where(and(eq(roomMembers.roomId, mirror.id), isNull(actors.iri)))
    .limit(1);
  const signer = local ? await localActorIri(ctx.data, local.actorId) : undefined;
  return signer ? await ctx.getDocumentLoader({ identifier: signer.identifier }) : ctx.documentLoader;
}

/**
 * Fills a mirror's history from its room's `outbox`, our rooms' history collection paged by
 * sequence number: `?cursor=N` lists the messages after N. The pages are fetched from the
 * room's own origin, signed as one of our members (private rooms show their history only to
 * member servers), so the `Announce`s in them count as the room's.
 * @param after The last number we hold without a gap; 0 after joining (the latest page then).
 */
export async function backfill(ctx: Context<Deps>, mirror: Room, after: number): Promise<void> {
  const deps = ctx.data;
  if (mirror.outbox == null || mirror.iri == null) return;
  const outbox = new URL(mirror.outbox);
  const group = new URL(mirror.iri);
  if (outbox.origin !== group.origin) return;
  const loader = await memberLoader(ctx, mirror);
  let cursor = after > 0 ? String(after) : "latest";
  for (let page = 0; page < maxBackfillPages; page++) {
    const url = new URL(outbox);
    url.searchParams.set("cursor", cursor);
    let document: Record<string, unknown>;
    try {
      document = (await loader(url.href)).document as Record<string, unknown>;
    } catch (error) {
      log.info("Backfilling {room} from {url} failed: {error}", { room: mirror.id, url: url.href, error });
      return;
    }
    const items = Array.isArray(document.orderedItems) ? document.orderedItems.slice(0, 100) : [];
    for (const item of items) {
      if (item == null || typeof item !== "object") continue;
      const { id, actor, object } = item as { id?: unknown; actor?: unknown; object?: unknown };
      if (typeof id !== "string" || actor !== group.href) continue;
      const seq = announcedSeqOf(id, group);
      if (seq == null) continue;
      const inner = await trustedInner(ctx, object, document["@context"]);
      const [current] = await deps.db.select().from(rooms).where(eq(rooms.id, mirror.id));
      if (inner && current) await applyInMirror(ctx, current, inner, seq, false);
    }
    const next = typeof document.next === "string" ? new URL(document.next).searchParams.get("cursor") : null;
    if (next == null || next === cursor) return;
    cursor = next;
  }
}

/** Membership changes a remote room's `Group` makes: `Add`, `Remove`, `Block` of an actor. */
async function onMembership(ctx: InboxContext<Deps>, activity: Add | Remove | Block) {
  const deps = ctx.data;
  if (activity.actorId == null || activity.objectId == null) return;
  const mirror = await mirrorOf(deps, activity.actorId);
  if (mirror == null) return;
  const actorId = await actorIdFor(ctx, activity.objectId);
  if (actorId == null) return;
  if (activity instanceof Add) {
    // Our own user's pending join is answered by this too.
    if (await settlePendingJoin(deps, mirror.id, actorId, true)) {
      await welcome(ctx, mirror, actorId);
      return;
    }
    await deps.db
      .transaction((tx) => addMember(deps, tx, mirror.id, actorId))
      .catch((error) => {
        if (!(error instanceof AppError)) throw error;
      });
    return;
  }
  if (activity instanceof Block) {
    await deps.db.transaction((tx) => recordRemoteBan(tx, mirror.id, actorId, ""));
  }
  await removeRemoteMember(deps, mirror.id, actorId, activity instanceof Block ? "banned" : "kicked");
}

/** `Accept` or `Reject` of a local user's join, from the room's `Group`. */
async function onAnswer(ctx: InboxContext<Deps>, answer: Accept | Reject) {
  const deps = ctx.data;
  if (answer.actorId == null || answer.objectId == null) return;
  const mirror = await mirrorOf(deps, answer.actorId);
  if (mirror == null) {
    // An answer to a local user's contact request, by the person asked.
    const [request] = await deps.db.select().from(contactRequests).where(eq(contactRequests.iri, answer.objectId.href));
    const remoteId = request ? await storedActorId(deps, answer.actorId) : undefined;
    if (request && remoteId === request.toId) {
      const outcome = answer instanceof Accept ? "accepted" : "rejected";
      await settleRemoteContact(deps, request.toId, request.fromId, answer.objectId.href, outcome);
    }
    return;
  }
  // The answer names our `Join` by its id: that is the request it settles, and only in the
  // room that was asked.
  const [pending] = await deps.db
    .select()
    .from(pendingJoins)
    .where(and(eq(pendingJoins.activityIri, answer.objectId.href), eq(pendingJoins.roomId, mirror.id)));
  if (pending == null) return;
  const accepted = answer instanceof Accept;
  if ((await settlePendingJoin(deps, mirror.id, pending.actorId, accepted)) && accepted) {
    await welcome(ctx, mirror, pending.actorId);
  }
}

/**
 * A local user's join was accepted (by `Accept`, or an `Add` that came first): the room's
 * details, hidden from outsiders in a private room, are read again as a member, and its
 * latest history is fetched.
 */
async function welcome(ctx: Context<Deps>, mirror: Room, actorId: string) {
  await refreshMirror(ctx, mirror, actorId);
  await backfill(ctx, mirror, 0);
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
        else await onLeave(ctx, undo, object.objectId);
      } else if (object instanceof Like || object instanceof EmojiReact) {
        await onReaction(ctx, object, false, undo);
      }
    })
    .on(Create, onCreate)
    .on(Update, (ctx, update) => onUpdate(ctx, update))
    .on(Delete, async (ctx, del) => {
      // A room's own delete (a moderator's, or of the room itself) comes straight from its Group.
      const mirror = del.actorId ? await mirrorOf(ctx.data, del.actorId) : undefined;
      await onDelete(ctx, del, mirror);
    })
    .on(Like, (ctx, like) => onReaction(ctx, like, true, like))
    .on(EmojiReact, (ctx, react) => onReaction(ctx, react, true, react))
    .on(Announce, onAnnounce)
    .on(Add, onMembership)
    .on(Remove, onMembership)
    .on(Block, onMembership)
    .on(Accept, onAnswer)
    .on(Reject, onAnswer)
    .on(Invite, onInvite)
    .onError((_ctx, error) => {
      log.warn("An inbox activity failed: {error}", { error });
    });
}
