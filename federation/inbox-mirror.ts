/**
 * What mirrors of remote rooms take from their `Group`: relayed activities (`Announce`, verified
 * or re-fetched), membership changes, answers to our joins, and history backfill.
 */
import { type Context, type DocumentLoader, type InboxContext, verifyObject } from "@fedify/fedify";
import {
  Accept,
  Activity,
  Add,
  type Announce,
  Block,
  Create,
  Delete,
  EmojiReact,
  Like,
  Reject,
  type Remove,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { contactRequestByIri, settleRemoteContact } from "../src/contacts/contacts.ts";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { mirrorHasGap } from "../src/messages/counts.ts";
import { storeRemoteMessage } from "../src/messages/remote.ts";
import { pendingJoinByIri, settlePendingJoin } from "../src/rooms/pending-joins.ts";
import { addMirrorMember, liveRoom, localMemberOf, recordRemoteBan, removeRemoteMember } from "../src/rooms/remote.ts";
import { onDelete, onReaction, onUpdate, rawJson, remoteNote, senderId } from "./inbox-messages.ts";
import { syncPinsFromOrigin } from "./inbox-pins.ts";
import { onInvitationAnswer } from "./invitations.ts";
import { proofKeys } from "./key-cache.ts";
import { syncMembersFromOrigin } from "./mirror-members.ts";
import { localActorIri } from "./notes.ts";
import { isMessageObject, objectContent } from "./objects.ts";
import { refreshMirror } from "./port.ts";
import { actorIdFor, mirrorOf, sameOrigin, storedActorId } from "./remote.ts";

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

/**
 * An activity relayed by a remote room's `Group` (`Announce`). Only the room's own server may
 * announce into it; the inner activity counts when its author's integrity proof checks out,
 * or else as re-fetched from its origin.
 */
export async function onAnnounce(ctx: InboxContext<Deps>, announce: Announce) {
  const deps = ctx.data;
  if (announce.actorId == null) return;
  const mirror = await mirrorOf(deps, announce.actorId);
  if (mirror == null || mirror.deletedAt) {
    // A boost, or a community relaying into a room here: only a room's own server does that.
    log.info("Ignored an Announce by {actor}: not a room we mirror.", { actor: announce.actorId.href });
    return;
  }
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
    // A proof counts only when made by a key of the actor's own server: a key document
    // elsewhere may claim any actor as its controller.
    const methods = ("proof" in object ? [object.proof].flat() : []).map(
      (proof) => (proof as { verificationMethod?: unknown } | null)?.verificationMethod,
    );
    const ownProof = (activity: Activity) =>
      methods.length > 0 &&
      methods.every((m) => typeof m === "string" && URL.canParse(m) && sameOrigin(new URL(m), activity.actorId));
    const options = { ...loaders, keyCache: proofKeys };
    const verify = async (candidate: unknown) => {
      const verified = await verifyObject(Activity, candidate, options).catch(() => null);
      return verified && ownProof(verified) ? verified : undefined;
    };
    // As embedded first (parsed once, by the check itself).
    const verified = methods.length > 0 ? await verify(document) : undefined;
    if (verified) return verified;
    const parsed = await Activity.fromJsonLd(document, loaders).catch(() => undefined);
    if (parsed == null) return undefined;
    if (ownProof(parsed)) {
      // Embedding may strip the signer's own `@context`; Fedify-made activities are signed as
      // they serialise on their own, so that form is tried too.
      const standalone = await verify(
        await parsed.clone({}).toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }),
      );
      if (standalone) return standalone;
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
 * `Update` is replaced by the object (a `Note`, a `Page`…) as its author's server serves it now; a `Delete` counts
 * when the object is gone there. Anything else is dropped.
 */
async function refetch(ctx: Context<Deps>, parsed: Activity): Promise<Activity | undefined> {
  if (parsed.actorId == null || parsed.id == null || !sameOrigin(parsed.id, parsed.actorId)) {
    return undefined;
  }
  const objectId = parsed.objectId;
  if (objectId == null || !sameOrigin(objectId, parsed.actorId)) return undefined;
  const current = await ctx.lookupObject(objectId.href).catch(() => null);
  if (parsed instanceof Create || parsed instanceof Update) {
    if (current == null || !isMessageObject(current) || current.attributionId?.href !== parsed.actorId.href) {
      return undefined;
    }
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
    const content = await objectContent(object);
    const authorId = await senderId(ctx, inner);
    if (content == null || authorId == null) return;
    const before = mirror.lastSeq;
    await storeRemoteMessage(
      deps,
      mirror.id,
      await remoteNote(deps, object.id, object, authorId, content, null, ctx),
      seq ?? before + 1,
    );
    // A number past the next one: those between may still come (deliveries in flight together
    // can overtake each other), or were missed. What has not come in a moment is fetched
    // from the room's history.
    if (fillGaps && seq != null && seq > before + 1) awaitGap(ctx, mirror.id, before, seq);
    if (inner instanceof Update) await onUpdate(ctx, inner, mirror);
  } else if (inner instanceof Update) {
    await onUpdate(ctx, inner, mirror);
  } else if (inner instanceof Delete) {
    await onDelete(ctx, inner, mirror, seq);
  } else if (inner instanceof Like || inner instanceof EmojiReact) {
    await onReaction(ctx, inner, true, inner, mirror);
  } else if (inner instanceof Accept || inner instanceof Reject) {
    await onInvitationAnswer(ctx, inner, null, mirror);
  } else if (inner instanceof Undo) {
    const reaction = await inner.getObject({ crossOrigin: "ignore" }).catch(() => null);
    if (reaction instanceof Like || reaction instanceof EmojiReact)
      await onReaction(ctx, reaction, false, inner, mirror);
  }
}

/** How long a mirror waits for messages that were overtaken before fetching them. */
export const gapWaitMs = 2_000;
/** Gaps being waited for, by mirror: one wait per mirror, over every gap seen meanwhile. */
const waiting = new Map<string, { after: number; before: number }>();

/**
 * Waits {@link gapWaitMs} for the numbers between `after` and `before` to arrive, then
 * backfills the mirror from `after` if any is still missing. A gap seen while another is
 * waited for widens that wait.
 */
export function awaitGap(ctx: Context<Deps>, mirrorId: string, after: number, before: number): void {
  const pending = waiting.get(mirrorId);
  if (pending) {
    pending.after = Math.min(pending.after, after);
    pending.before = Math.max(pending.before, before);
    return;
  }
  const range = { after, before };
  waiting.set(mirrorId, range);
  const timer = setTimeout(() => {
    waiting.delete(mirrorId);
    (async () => {
      if (!(await mirrorHasGap(ctx.data, mirrorId, range.after, range.before))) return;
      const current = await liveRoom(ctx.data, mirrorId);
      if (current) await backfill(ctx, current, range.after);
    })().catch((error) => log.info("Filling a gap in {room} failed: {error}", { room: mirrorId, error }));
  }, gapWaitMs);
  timer.unref?.();
}

/** Most history pages one backfill reads (50 messages each). */
const maxBackfillPages = 20;

/**
 * A document loader that signs as one of our members of a mirrored room (a private room shows
 * its history only to member servers), or unsigned when none of ours is in it.
 */
export async function memberLoader(ctx: Context<Deps>, mirror: Room): Promise<DocumentLoader> {
  const local = await localMemberOf(ctx.data, mirror.id);
  const signer = local ? await localActorIri(ctx.data, local) : undefined;
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
      const current = await liveRoom(deps, mirror.id);
      if (inner && current) await applyInMirror(ctx, current, inner, seq, false);
    }
    const next = typeof document.next === "string" ? new URL(document.next).searchParams.get("cursor") : null;
    if (next == null || next === cursor) return;
    cursor = next;
  }
}

/** Membership changes a remote room's `Group` makes: `Add`, `Remove`, `Block` of an actor. */
export async function onMembership(ctx: InboxContext<Deps>, activity: Add | Remove | Block) {
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
    // A local user is in a remote room only by a join of their own: one withdrawn (or never
    // made) is not brought back by a late `Add`.
    if (await localActorIri(deps, actorId)) return;
    await addMirrorMember(deps, mirror.id, actorId);
    return;
  }
  if (activity instanceof Block) {
    await recordRemoteBan(deps, mirror.id, actorId, "");
  }
  await removeRemoteMember(deps, mirror.id, actorId, activity instanceof Block ? "banned" : "kicked");
}

/** `Accept` or `Reject` of a local user's join, from the room's `Group`. */
export async function onAnswer(ctx: InboxContext<Deps>, answer: Accept | Reject) {
  const deps = ctx.data;
  if (answer.actorId == null || answer.objectId == null) return;
  // An invitee's answer to an invitation card, into a room hosted here.
  if (answer.objectId.hash === "#invitation") {
    await onInvitationAnswer(ctx, answer, await rawJson(ctx, answer));
    return;
  }
  const mirror = await mirrorOf(deps, answer.actorId);
  if (mirror == null) {
    // An answer to a local user's contact request, by the person asked.
    const request = await contactRequestByIri(deps, answer.objectId.href);
    const remoteId = request ? await storedActorId(deps, answer.actorId) : undefined;
    if (request && remoteId === request.toId) {
      const outcome = answer instanceof Accept ? "accepted" : "rejected";
      await settleRemoteContact(deps, request.toId, request.fromId, answer.objectId.href, outcome);
    }
    return;
  }
  // The answer names our `Join` by its id: that is the request it settles, and only in the
  // room that was asked.
  const pending = await pendingJoinByIri(deps, mirror.id, answer.objectId.href);
  if (pending == null) return;
  const accepted = answer instanceof Accept;
  if ((await settlePendingJoin(deps, mirror.id, pending.actorId, accepted)) && accepted) {
    await welcome(ctx, mirror, pending.actorId);
  }
}

/**
 * A local user's join was accepted (by `Accept`, or an `Add` that came first): the room's
 * details, hidden from outsiders in a private room, are read again as a member, and its
 * latest history, its members and its pins are fetched.
 */
async function welcome(ctx: Context<Deps>, mirror: Room, actorId: string) {
  const group = await refreshMirror(ctx, mirror, actorId);
  await backfill(ctx, mirror, 0);
  if (group) {
    await syncMembersFromOrigin(ctx, mirror, group, actorId);
    await syncPinsFromOrigin(ctx, mirror, group, actorId);
  }
}
