/**
 * Pinned messages between servers, as Lemmy and Mastodon feature posts: `Add`/`Remove` whose
 * target is a `Group`'s `featured` collection. From a remote room's `Group` they change its
 * mirror here; from a remote moderator they ask a room hosted here, which checks the role. A
 * mirror reads the whole collection on joining.
 * @module
 */
import type { Context, InboxContext } from "@fedify/fedify";
import { Add, Collection, type Group, type Remove } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { logger } from "../src/log.ts";
import { applyRemotePin, maxPinsPerRoom, pinMessage, replaceMirrorPins } from "../src/messages/pins.ts";
import { messageByIri } from "../src/messages/remote.ts";
import { hostedRoom } from "./inbox-messages.ts";
import { localActorIri } from "./notes.ts";
import { mirrorOf, sameOrigin, storedActorId } from "./remote.ts";

const log = logger("inbox");

/** The room hosted here whose `featured` collection (`/rooms/<id>/featured`) an IRI is. */
async function hostedFeatured(deps: Deps, target: URL): Promise<Room | undefined> {
  if (target.search || target.hash || !target.pathname.endsWith("/featured")) return undefined;
  return await hostedRoom(deps, new URL(target.pathname.slice(0, -"/featured".length), target));
}

/**
 * An `Add` or `Remove` about pins: to a room hosted here from a member (a moderator there: the
 * room's own rule decides), or from a mirrored room's `Group` naming its `featured` collection
 * and a message of that room we hold.
 * @returns Whether the activity was about pins (else it is a membership change).
 */
export async function onFeatured(ctx: InboxContext<Deps>, activity: Add | Remove): Promise<boolean> {
  const deps = ctx.data;
  const { actorId: actor, objectId: object, targetId: target } = activity;
  if (actor == null || object == null || target == null) return false;
  const on = activity instanceof Add;
  const hosted = await hostedFeatured(deps, target);
  if (hosted) {
    const actorId = await storedActorId(deps, actor);
    const message = await messageByIri(deps, object.href);
    if (actorId == null || message == null || message.roomId !== hosted.id) {
      log.info("Ignored a pin by {actor}: not a member's, or not a message of {room}.", {
        actor: actor.href,
        room: hosted.id,
      });
      return true;
    }
    try {
      await pinMessage(deps, actorId, hosted.id, message.id, on);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      log.info("Refused a pin by {actor} in {room}: {code}", { actor: actor.href, room: hosted.id, code: error.code });
    }
    return true;
  }
  const mirror = await mirrorOf(deps, actor);
  if (mirror == null) return false;
  // The collection the `Group` named when we read it; for a mirror stored before we kept it,
  // one on the `Group`'s server at `…/featured`.
  const featured = mirror.featured
    ? target.href === mirror.featured
    : sameOrigin(target, actor) && target.pathname.endsWith("/featured");
  if (!featured) return false;
  const message = await messageByIri(deps, object.href);
  if (message == null || message.roomId !== mirror.id) {
    log.info("Ignored a pin from {group}: {object} is not a message of the room we hold.", {
      group: actor.href,
      object: object.href,
    });
    return true;
  }
  await applyRemotePin(deps, mirror, message, on);
  return true;
}

/**
 * Fills a mirror's pins from its `Group`'s `featured` collection (read as the local user who
 * joined, so a private room answers): messages we do not hold (older than what joining
 * fetched) are left out.
 */
export async function syncPinsFromOrigin(ctx: Context<Deps>, mirror: Room, group: Group, actorId: string) {
  const featured = group.featuredId;
  if (featured == null || group.id == null || !sameOrigin(featured, group.id)) return;
  const signer = await localActorIri(ctx.data, actorId);
  const documentLoader = signer ? await ctx.getDocumentLoader({ identifier: signer.identifier }) : undefined;
  const found = await ctx.lookupObject(featured.href, { documentLoader }).catch(() => null);
  if (!(found instanceof Collection)) {
    log.info("The featured collection of {group} could not be read.", { group: group.id.href });
    return;
  }
  const ids: string[] = [];
  for (const iri of found.itemIds.slice(0, maxPinsPerRoom)) {
    const message = await messageByIri(ctx.data, iri.href);
    if (message?.roomId === mirror.id) ids.push(message.id);
  }
  await replaceMirrorPins(ctx.data, mirror, ids);
}
