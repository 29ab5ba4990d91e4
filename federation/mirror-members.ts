/**
 * A mirror's member list read from the room's own server: its `Group`'s `followers` (our rooms
 * list their members there, as Lemmy lists a community's subscribers) and, for roles, the
 * moderators collection its `attributedTo` names (the first of them the owner, as Lemmy's top
 * moderator). Read as the local user who joined, so a private room answers.
 */
import type { Context } from "@fedify/fedify";
import { type Object as APObject, Collection, type CollectionPage, type Group } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import type { Role } from "../src/rooms/permissions.ts";
import { syncMirrorMembers } from "../src/rooms/remote.ts";
import { localActorIri } from "./notes.ts";
import { actorIdFor, sameOrigin } from "./remote.ts";

const log = logger("federation", "mirror");

/** Members read from a room's server; a longer list is taken as incomplete (nobody is removed). */
const maxMembers = 500;
/** Actor documents resolved at once. */
const resolveWidth = 8;

type Loader = Awaited<ReturnType<Context<Deps>["getDocumentLoader"]>>;

/** The IRIs a collection lists, following its pages, up to `max`; and whether that was all. */
async function collectionItems(
  ctx: Context<Deps>,
  iri: URL,
  documentLoader: Loader,
  max: number,
): Promise<{ items: URL[]; complete: boolean } | undefined> {
  const found: APObject | null = await ctx.lookupObject(iri.href, { documentLoader }).catch(() => null);
  if (!(found instanceof Collection)) return undefined;
  const items = [...found.itemIds];
  let page: CollectionPage | null = await found.getFirst({ documentLoader, suppressError: true }).catch(() => null);
  for (let pages = 0; page != null && items.length <= max && pages < 50; pages++) {
    items.push(...page.itemIds);
    page = await page.getNext({ documentLoader, suppressError: true }).catch(() => null);
  }
  return { items: items.slice(0, max), complete: items.length <= max && page == null };
}

/**
 * Reads a remote room's members (with roles) from its server, as the local user `actorId`
 * (`group` is its `Group`, as just fetched for them), and makes the mirror's remote members
 * match. Failures are logged: the mirror keeps what it has.
 */
export async function syncMembersFromOrigin(
  ctx: Context<Deps>,
  mirror: Room,
  group: Group,
  actorId: string,
): Promise<void> {
  const deps = ctx.data;
  const signer = await localActorIri(deps, actorId);
  const members = group.followersId;
  if (signer == null || members == null || !sameOrigin(members, group.id)) return;
  const documentLoader = await ctx.getDocumentLoader({ identifier: signer.identifier });
  const listed = await collectionItems(ctx, members, documentLoader, maxMembers);
  if (listed == null) {
    log.info("The members of {room} could not be read from {collection}.", { room: mirror.iri, collection: members });
    return;
  }
  const moderators = group.attributionIds.find((iri) => sameOrigin(iri, group.id));
  const mods = moderators ? await collectionItems(ctx, moderators, documentLoader, 100) : undefined;
  const roleOf = (iri: URL): Role => {
    const rank = mods?.items.findIndex((m) => m.href === iri.href) ?? -1;
    return rank === 0 ? "owner" : rank > 0 ? "moderator" : "member";
  };
  const resolved: { actorId: string; role: Role }[] = [];
  let unresolved = 0;
  for (let i = 0; i < listed.items.length; i += resolveWidth) {
    const batch = listed.items.slice(i, i + resolveWidth);
    const ids = await Promise.all(batch.map((iri) => actorIdFor(ctx, iri).catch(() => undefined)));
    ids.forEach((id, j) => {
      const iri = batch[j] as URL;
      if (id == null) unresolved++;
      else resolved.push({ actorId: id, role: roleOf(iri) });
    });
  }
  // Someone who could not be read now is not taken for gone.
  const result = await syncMirrorMembers(deps, mirror.id, resolved, listed.complete && unresolved === 0);
  log.debug("Mirrored the members of {room}: {result}", { room: mirror.iri, result });
}
