/**
 * Invitations on the wire. A message with an invitation is an ordinary `Note` whose text says it
 * in words ("Alice invites @bob to play **Chess**: https://…"), so any server shows it, with
 * the invitation itself as an attachment: an `Invite` by the author whose `object` is an
 * `Event` (`name` the title, `url` the link, `startTime`, `summary` the kind: `game`, `call` or
 * `event`), whose `target` is the invitees (or the room's `Group`: everyone in it) and whose
 * `endTime` is when it expires. Its id is the note's IRI with `#invitation`. Invitees answer
 * with `Accept` or `Reject` of that id, sent to the room's `Group`, which judges them and
 * announces them to the member servers like reactions (see FEDERATION.md, Invitations).
 * @module
 */
import type { Context, InboxContext } from "@fedify/fedify";
import { Accept, type Object as APObject, Event, Invite, Reject } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { eq, inArray } from "drizzle-orm";
import { actors, type Room, rooms, users } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import {
  maxInvitationSeconds,
  maxInvitationTitle,
  mirrorAnswer,
  receiveRemoteAnswer,
} from "../src/invitations/invitations.ts";
import { invitationOf, type NewInvitation } from "../src/invitations/store.ts";
import { type InvitationAnswer, type InvitationKind, invitationKinds } from "../src/invitations/views.ts";
import { logger } from "../src/log.ts";
import { awaitMessageByIri, messageByIri } from "../src/messages/remote.ts";
import { cleanName, truncate } from "../src/text.ts";
import { embeddedOnly } from "./emoji.ts";
import { actorIdFor, sameOrigin, storedActorId } from "./remote.ts";
import { userIdentifier } from "./users.ts";

const log = logger("federation", "invitations");
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";

/** The id of the `Invite` a note carries: the note's IRI with `#invitation`. */
export function invitationIri(note: string): URL {
  return new URL(`${note}#invitation`);
}

function instant(date: Date): Temporal.Instant {
  return Temporal.Instant.fromEpochMilliseconds(date.getTime());
}

/** The `Invite` attachment of a message's `Note`, or undefined for a message with no invitation. */
export async function invitationAttachment(
  deps: Deps,
  messageId: string,
  note: URL,
  author: URL,
  group: URL,
): Promise<Invite | undefined> {
  const invitation = await invitationOf(deps.db, messageId);
  if (invitation == null) return undefined;
  return new Invite({
    id: invitationIri(note.href),
    actor: author,
    object: new Event({
      name: invitation.title,
      summary: invitation.kind,
      url: invitation.link ? new URL(invitation.link) : null,
      startTime: invitation.startsAt ? instant(invitation.startsAt) : null,
    }),
    targets: invitation.invitees ? await actorIris(deps, invitation.invitees) : [group],
    endTime: instant(invitation.expiresAt),
  });
}

/** The IRIs of actors (ours from their usernames, others' as stored), in no particular order. */
async function actorIris(deps: Deps, ids: readonly string[]): Promise<URL[]> {
  if (ids.length === 0) return [];
  const rows = await deps.db
    .select({ iri: actors.iri, username: users.username })
    .from(actors)
    .leftJoin(users, eq(users.id, actors.userId))
    .where(inArray(actors.id, [...ids]));
  return rows.flatMap((row) => {
    if (row.username) return [new URL(`${deps.config.origin}/${userIdentifier(row.username)}`)];
    return row.iri ? [new URL(row.iri)] : [];
  });
}

/**
 * The invitation a remote note carries, checked: an `Invite` attachment by the note's author
 * (same origin as the note), with an embedded `Event`. Invitees are the actors it targets that
 * are known here (a target that is the room's `Group` or the public means everyone); the
 * expiry is held to a week from now, the title to 200 characters, the link to http(s).
 */
export async function invitationOfNote(
  ctx: Context<Deps>,
  note: APObject,
  now = new Date(),
): Promise<NewInvitation | undefined> {
  if (note.id == null) return undefined;
  let count = 0;
  for await (const item of note.getAttachments({ documentLoader: embeddedOnly, suppressError: true })) {
    if (++count > 20) break;
    if (!(item instanceof Invite) || item.id?.href !== invitationIri(note.id.href).href) continue;
    if (!sameOrigin(item.actorId, note.id)) return undefined;
    const event = await item.getObject({ documentLoader: embeddedOnly, suppressError: true }).catch(() => null);
    if (!(event instanceof Event)) return undefined;
    const title = truncate(cleanName(event.name?.toString() ?? ""), maxInvitationTitle);
    if (title === "") return undefined;
    const summary = event.summary?.toString() ?? "";
    const kind: InvitationKind = (invitationKinds as readonly string[]).includes(summary)
      ? (summary as InvitationKind)
      : "event";
    const url = event.url instanceof URL ? event.url : null;
    const link =
      url && (url.protocol === "https:" || url.protocol === "http:") && url.href.length <= 2048 ? url.href : null;
    const latest = now.getTime() + maxInvitationSeconds * 1000;
    const end = item.endTime ? Math.min(item.endTime.epochMilliseconds, latest) : latest;
    const targets = item.targetIds.slice(0, 50);
    const everyone =
      targets.length === 0 || targets.some((t) => t.href === PUBLIC || note.audienceIds.some((a) => a.href === t.href));
    const invitees = everyone
      ? null
      : (await Promise.all(targets.map((t) => knownActorId(ctx, t)))).filter((id): id is string => id != null);
    return {
      kind,
      title,
      link,
      startsAt: event.startTime ? new Date(event.startTime.epochMilliseconds) : null,
      expiresAt: new Date(end),
      invitees,
    };
  }
  return undefined;
}

/**
 * An invitee's local id, without fetching anything: invitees are members of the room, whom
 * this server stores already, so a note cannot make it fetch fifty strangers.
 */
async function knownActorId(ctx: Context<Deps>, iri: URL): Promise<string | undefined> {
  return sameOrigin(iri, ctx.data.config.origin) ? await actorIdFor(ctx, iri) : await storedActorId(ctx.data, iri);
}

/** A local invitee's answer, to send to the room's `Group`. */
export function answerActivity(actor: URL, note: string, answer: InvitationAnswer, group: URL): Accept | Reject {
  const Answer = answer === "accepted" ? Accept : Reject;
  return new Answer({
    // Under the actor (receivers refuse ids on another server); unique per answer, since one
    // may change one's mind and processed ids are remembered.
    id: new URL(`${actor.href}#${answer}-${encodeURIComponent(note)}-${Date.now()}`),
    actor,
    object: invitationIri(note),
    to: group,
    audience: group,
  });
}

/**
 * `Accept`/`Reject` of an invitation: from a member into a room hosted here (judged and
 * relayed), or, with `mirror`, relayed by the room's `Group` (taken as it says).
 * @returns false when the activity is not about an invitation (it may be a join's answer).
 */
export async function onInvitationAnswer(
  ctx: InboxContext<Deps> | Context<Deps>,
  activity: Accept | Reject,
  raw: unknown,
  mirror?: Room,
): Promise<boolean> {
  const objectId = activity.objectId;
  if (objectId == null || objectId.hash !== "#invitation" || activity.actorId == null) return false;
  const deps = ctx.data;
  const note = objectId.href.slice(0, -"#invitation".length);
  // In a mirror, the room relayed the message first, but both may be taken from the queue
  // together (an answer given at once): the message is given a moment to be stored.
  const message = mirror ? await awaitMessageByIri(deps, note, 3_000) : await messageByIri(deps, note);
  const actorId = await actorIdFor(ctx, activity.actorId);
  if (message == null || actorId == null) {
    log.info("Ignored an answer to an unknown invitation {id}", { id: objectId.href });
    return true;
  }
  const answer: InvitationAnswer = activity instanceof Accept ? "accepted" : "declined";
  if (mirror) {
    if (message.roomId === mirror.id) await mirrorAnswer(deps, message, actorId, answer);
    return true;
  }
  const [room] = await deps.db.select({ iri: rooms.iri }).from(rooms).where(eq(rooms.id, message.roomId));
  if (room == null || room.iri != null) return true;
  const taken = await receiveRemoteAnswer(deps, message, actorId, answer, raw);
  if (!taken) log.info("Refused an answer by {actor} to {id}", { actor: activity.actorId.href, id: objectId.href });
  return true;
}
