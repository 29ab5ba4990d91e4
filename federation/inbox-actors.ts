/**
 * What other servers say about their own actors: `Delete` of a `Person` (or any actor) by
 * itself, Mastodon's shape for a deleted account.
 * @module
 */
import type { Context, RequestContext, UnverifiedActivityReason } from "@fedify/fedify";
import { type Activity, Delete } from "@fedify/vocab";
import { receiveActorDeletion } from "../src/accounts/deletion.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { logger } from "../src/log.ts";
import { fetchRemoteMedia } from "../src/media/remote.ts";
import { fetchTimeoutMs } from "./fetch.ts";
import { isBlockedHost, storedActorId } from "./remote.ts";

const log = logger("inbox");

/** Whether a `Delete` is an actor deleting itself (the object is the actor's own IRI). */
export function isSelfDelete(activity: Activity): boolean {
  return (
    activity instanceof Delete &&
    activity.actorId != null &&
    activity.objectId != null &&
    activity.actorId.href === activity.objectId.href
  );
}

/**
 * A remote actor deleted by its server, the signature verified: if this server knows them,
 * they leave every room here and are shown as deleted (see `receiveActorDeletion`). An actor
 * of ours, or one never met, changes nothing.
 */
export async function onActorDelete(ctx: Context<Deps>, del: Delete): Promise<void> {
  const iri = del.actorId;
  if (iri == null || iri.origin === new URL(ctx.data.config.origin).origin) return;
  const actorId = await storedActorId(ctx.data, iri);
  if (actorId == null) return;
  if (await receiveActorDeletion(ctx.data, actorId))
    log.info("{actor} was deleted by its server.", { actor: iri.href });
}

/**
 * A `Delete` of an actor whose key cannot be fetched any more (its server answers 404 or 410
 * for it: the account is gone, and so is its key), which this server never cached. Following
 * the SWICG's advice on deletes of actors, the claim is not taken on the word of an unsigned
 * request: this server fetches the actor itself, and only if its own server answers 410 Gone or
 * 404 is the actor treated as deleted. Anything else keeps Fedify's 401.
 */
export async function onUnverifiedDelete(
  ctx: RequestContext<Deps>,
  activity: Activity,
  reason: UnverifiedActivityReason,
): Promise<Response | undefined> {
  if (!(activity instanceof Delete) || !isSelfDelete(activity) || reason.type !== "keyFetchError") return undefined;
  const result = reason.result;
  if (!("status" in result) || (result.status !== 404 && result.status !== 410)) return undefined;
  const iri = activity.actorId as URL;
  if (iri.origin === new URL(ctx.data.config.origin).origin) return undefined;
  if (await isBlockedHost(ctx.data, iri.hostname)) return undefined;
  const actorId = await storedActorId(ctx.data, iri);
  // Someone never met: nothing to forget, and nothing to say.
  if (actorId == null) return new Response(null, { status: 202 });
  // Through the bounded fetcher: public addresses only, pinned, no redirects, a small body.
  const status = await fetchRemoteMedia(ctx.data.config, iri.href, {
    accept: "application/activity+json",
    limits: { maxBytes: 64 * 1024, timeoutMs: fetchTimeoutMs, maxRedirects: 0 },
    truncate: true,
  }).then(
    () => 200,
    (error) => (error instanceof AppError ? (error.details as { status?: number } | undefined)?.status : undefined),
  );
  if (status !== 404 && status !== 410) return undefined;
  if (await receiveActorDeletion(ctx.data, actorId)) {
    log.info("{actor} was deleted by its server (the actor answers {status}).", { actor: iri.href, status });
  }
  return new Response(null, { status: 202 });
}
