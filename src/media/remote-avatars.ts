/**
 * Remote actors' avatars, served from our origin: fetched from the actor's server the first
 * time someone here needs one (through the bounded fetcher: public addresses only, size and
 * time limits, each redirect checked), checked and re-encoded like an uploaded avatar, and
 * kept until the actor's avatar URL changes. A reader's browser never asks the other server
 * (which would learn who reads, and which the page's CSP does not let in anyway).
 */
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { actors } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { avatarLimits, readAvatar, removeAvatarFile, storeAvatarFile } from "./avatars.ts";
import { fetchRemoteMedia } from "./remote.ts";

/** After a failed fetch, the same URL is not asked again for this long. */
const retryAfterMs = 60 * 60 * 1000;

/** Fetches in flight, by actor: concurrent readers wait for one fetch. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Where a remote actor's avatar is served from here: the URL names the version (a hash of the
 * remote URL), so a browser may keep it for good and a new avatar gets a new URL.
 */
export function remoteAvatarUrl(deps: Pick<Deps, "config">, actorId: string, remoteUrl: string | null): string | null {
  if (remoteUrl == null) return null;
  const version = createHash("sha256").update(remoteUrl).digest("base64url").slice(0, 12);
  return `${deps.config.origin}/media/remote-avatars/${actorId}?v=${version}`;
}

async function fetchAndStore(deps: Deps, actorId: string, source: string, previous: string | null): Promise<string> {
  try {
    const { bytes } = await fetchRemoteMedia(deps.config, source, {
      limits: { maxBytes: avatarLimits.maxBytes, timeoutMs: 10_000, maxRedirects: 3 },
    });
    const file = await storeAvatarFile(deps, bytes);
    await deps.db
      .update(actors)
      .set({ avatarFile: file, avatarFileSource: source, avatarFailedAt: null })
      .where(eq(actors.id, actorId));
    if (previous && previous !== file) await removeAvatarFile(deps, previous);
    return file;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await deps.db
      .update(actors)
      .set({ avatarFileSource: source, avatarFailedAt: new Date() })
      .where(eq(actors.id, actorId));
    throw new AppError("not_found", "That avatar could not be fetched.", { cause: error });
  }
}

/**
 * A remote actor's avatar, fetched on first use.
 * @throws {AppError} `not_found`: no such remote actor, no avatar, or it could not be fetched
 *   (not asked again for an hour) or is not an image we take.
 */
export async function readRemoteAvatar(deps: Deps, actorId: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const [actor] = await deps.db.select().from(actors).where(eq(actors.id, actorId));
  const source = actor?.iri ? actor.avatarUrl : null;
  if (actor == null || source == null) throw new AppError("not_found", "No such avatar.");
  if (actor.avatarFile && actor.avatarFileSource === source) {
    return await readAvatar(deps, actor.avatarFile).catch(async () => {
      // The file went missing: fetched again.
      return await readAvatar(deps, await fetchAndStore(deps, actorId, source, null));
    });
  }
  const failed = actor.avatarFileSource === source ? actor.avatarFailedAt : null;
  if (failed && Date.now() - failed.getTime() < retryAfterMs) throw new AppError("not_found", "No such avatar.");
  let pending = inFlight.get(actorId);
  if (pending == null) {
    pending = fetchAndStore(deps, actorId, source, actor.avatarFile).finally(() => inFlight.delete(actorId));
    inFlight.set(actorId, pending);
  }
  return await readAvatar(deps, await pending);
}
