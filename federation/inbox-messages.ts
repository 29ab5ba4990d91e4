/**
 * What members send about messages in rooms: `Create`, `Update`, `Delete` and reactions, into
 * rooms hosted here or (through federation/inbox-mirror.ts) as relayed into mirrors.
 */
import type { Context, InboxContext } from "@fedify/fedify";
import {
  type Activity,
  type Object as APObject,
  type Create,
  type Delete,
  type EmojiReact,
  Group,
  isActor,
  Like,
  type Update,
} from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { storableJson } from "../src/json.ts";
import { logger } from "../src/log.ts";
import { parseReactionKey } from "../src/messages/emoji.ts";
import { applyRemoteReaction } from "../src/messages/reactions.ts";
import {
  applyRemoteDelete,
  applyRemoteEdit,
  awaitMessageByIri,
  holdEarlyEdit,
  messageByIri,
  type RemoteNote,
  storeRemoteMessage,
} from "../src/messages/remote.ts";
import { admitRemoteActor, deleteMirror, hostedRoomById } from "../src/rooms/remote.ts";
import { membership } from "../src/rooms/rooms.ts";
import { customReactionKey, embeddedOnly, learnEmojiOf } from "./emoji.ts";
import { invitationOfNote } from "./invitations.ts";
import { mentionedLocals, reactionKeyOf } from "./notes.ts";
import { isMessageObject, objectContent } from "./objects.ts";
import { actorIdFor, mirrorOf, rememberActor, rememberGroup, sameOrigin, storedActorId } from "./remote.ts";
import { roomOf } from "./rooms.ts";

const log = logger("federation", "inbox");

/** A room hosted here, by its `Group` IRI. */
export async function hostedRoom(deps: Deps, iri: URL | null | undefined): Promise<Room | undefined> {
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
    for await (const tag of object.getTags({ documentLoader: embeddedOnly, suppressError: true })) {
      if (++count > 50) break;
      if ("href" in tag && tag.href instanceof URL) candidates.push(tag.href);
    }
  }
  for (const iri of candidates.slice(0, 100)) {
    const room = await hostedRoom(deps, iri);
    if (room) return room;
  }
  if (object?.replyTargetId) {
    const reply = await messageByIri(deps, object.replyTargetId.href);
    if (reply) return await hostedRoomById(deps, reply.roomId);
  }
  return undefined;
}

/** What the domain stores of a remote note (its `activity` is relayed by rooms hosted here). */
export async function remoteNote(
  deps: Deps,
  iri: URL,
  object: APObject,
  authorId: string,
  content: Pick<RemoteNote, "content" | "html" | "attachments">,
  activity: unknown,
  ctx?: Context<Deps>,
): Promise<RemoteNote> {
  // The emoji its text names are its author's server's (checked: same origin as the note).
  await learnEmojiOf(deps, iri.host, object);
  return {
    iri: iri.href,
    authorId,
    ...content,
    inReplyTo: object.replyTargetId?.href ?? null,
    // FEP-7888: a thread's replies name their root (ours do) in `context`.
    contexts: object.contextIds.slice(0, 5).map((iri) => iri.href),
    published: object.published ? new Date(object.published.epochMilliseconds) : null,
    mentioned: await mentionedLocals(deps, object),
    activity,
    invitation: ctx ? await invitationOfNote(ctx, object) : undefined,
  };
}

/** The activity's JSON as received (Fedify keeps the parsed document). */
export async function rawJson(ctx: Context<Deps>, activity: Activity): Promise<Record<string, unknown>> {
  // Kept in jsonb: a document fetched from elsewhere may hold text PostgreSQL cannot store.
  // Without a `format`, a parsed activity answers the JSON it was parsed from, as it came (a
  // compaction through JSON-LD took ~10 ms, the largest share of taking a relayed activity).
  return storableJson((await activity.toJsonLd({ contextLoader: ctx.contextLoader })) as Record<string, unknown>);
}

/** The actor of an activity, stored; undefined when it cannot be resolved. */
export async function senderId(ctx: Context<Deps>, activity: Activity): Promise<string | undefined> {
  if (activity.actorId == null) return undefined;
  return await actorIdFor(ctx, activity.actorId);
}

/**
 * `Create{Note}` into a room hosted here: the author must be a member (a public room admits a
 * newcomer, so a Mastodon post mentioning the room lands in it); the message gets the next
 * number and the room announces the author's activity to every member server.
 */
export async function onCreate(ctx: InboxContext<Deps>, create: Create) {
  const deps = ctx.data;
  const object = await create.getObject({ crossOrigin: "ignore" }).catch(() => null);
  if (object == null || object.id == null) return;
  if (!isMessageObject(object)) {
    // Given by its IRI, so the inbox guard could not see its type.
    log.info("Ignored a Create of a {type} from {actor}: not a message object.", {
      type: object.constructor.name,
      actor: create.actorId?.href,
    });
    return;
  }
  // Only the author's own server speaks for the author: the object is attributed to the actor,
  // or (a Mobilizon group's event, posted by a member) to actors of the same server.
  const attributed = object.attributionIds;
  if (
    !sameOrigin(object.id, create.actorId) ||
    attributed.length === 0 ||
    !(attributed.some((a) => a.href === create.actorId?.href) || attributed.every((a) => sameOrigin(a, create.actorId)))
  ) {
    return;
  }
  const room = await addressedRoom(deps, create, object);
  if (room == null) return;
  const content = await objectContent(object);
  if (content == null) return;
  const authorId = await senderId(ctx, create);
  if (authorId == null) return;
  if ((await membership(deps.db, room.id, authorId)) == null) {
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
    await remoteNote(deps, object.id, object, authorId, content, await rawJson(ctx, create), ctx),
  ).catch((error) => {
    if (error instanceof AppError) return undefined;
    throw error;
  });
}

/** `Update` of a message by its author (relayed by a room hosted here), or of an actor's profile. */
export async function onUpdate(ctx: Context<Deps>, update: Update, mirror?: Room) {
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
  const content = await objectContent(object);
  if (content == null) return;
  await learnEmojiOf(deps, object.id.host, object);
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
export async function onDelete(ctx: Context<Deps>, del: Delete, mirror?: Room, seq?: number) {
  const deps = ctx.data;
  const objectId = del.objectId;
  if (objectId == null || del.actorId == null) return;
  if (mirror && objectId.href === mirror.iri && del.actorId.href === mirror.iri) {
    await deleteMirror(deps, mirror.id);
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
export async function onReaction(
  ctx: Context<Deps>,
  reaction: Like | EmojiReact,
  on: boolean,
  source: Activity,
  mirror?: Room,
) {
  const deps = ctx.data;
  if (reaction.objectId == null || reaction.actorId == null) return;
  if (source.actorId?.href !== reaction.actorId.href) return;
  // In a mirror, the room relayed the message before the reaction, but the two may be taken
  // from the queue together: the message is given a moment to be stored.
  const message = mirror
    ? await awaitMessage(deps, reaction.objectId.href)
    : await messageByIri(deps, reaction.objectId.href);
  if (message == null) return;
  if (mirror && message.roomId !== mirror.id) return;
  let key = reactionKeyOf(reaction);
  const named = key == null ? undefined : parseReactionKey(key);
  // A custom emoji (in `content`, or in Misskey's `_misskey_reaction` of a bare `Like`).
  const custom = named?.kind === "custom" || (reaction instanceof Like && reaction.content == null);
  if (key == null && !custom) return;
  const actorId = await senderId(ctx, reaction);
  if (actorId == null) return;
  if (mirror == null) {
    const room = await hostedRoomById(deps, message.roomId);
    if (room == null || (await membership(deps.db, room.id, actorId)) == null) return;
  }
  // Only now, from a member: learning the emoji stores rows for it.
  if (custom) {
    key = (await customReactionKey(ctx, reaction, named?.kind === "custom" ? named.shortcode : undefined)) ?? key;
  }
  if (key == null) return;
  await applyRemoteReaction(
    deps,
    message,
    { actorId, key, iri: reaction.id?.href ?? null },
    on,
    await rawJson(ctx, source),
    mirror == null,
  );
}

/** How long a relayed reaction waits for the message it is about (relayed just before it). */
const relayedOrderWaitMs = 3_000;

/** The message an IRI names, waiting up to {@link relayedOrderWaitMs} for it to be stored. */
function awaitMessage(deps: Deps, iri: string) {
  return awaitMessageByIri(deps, iri, relayedOrderWaitMs);
}
