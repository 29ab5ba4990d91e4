import type { Context } from "@fedify/fedify";
import {
  type Actor,
  type Object as APObject,
  Application,
  Group,
  isActor,
  PropertyValue,
  Service,
} from "@fedify/vocab";
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { maxProfileFields, type ProfileFieldInput, profileFieldLimits } from "../src/accounts/profile-fields.ts";
import { actors, type Room, roomMembers } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { jsonNodes } from "../src/json.ts";
import { plainText } from "../src/messages/plain-text.ts";
import { removeRemoteMember, roomByIri, upsertRemoteActor, upsertRemoteRoom } from "../src/rooms/remote.ts";
import { blockedAmong, hostOf } from "../src/server-blocks.ts";
import { cleanName, cleanText, truncate } from "../src/text.ts";
import { learnEmojiOf } from "./emoji.ts";
import { retentionOf } from "./rooms.ts";

export { hostOf };

/** How long a stored remote actor is trusted before it is fetched again. */
const actorTtlMs = 24 * 60 * 60 * 1000;
/** Remote names and topics are cut to what our own rooms and users allow. */
const maxName = 100;
const maxTopic = 1000;

/** Whether two IRIs share an origin, compared as parsed origins, never as strings. */
export function sameOrigin(a: URL | string | null | undefined, b: URL | string | null | undefined): boolean {
  if (a == null || b == null) return false;
  const origin = (iri: URL | string) =>
    typeof iri === "string" ? (URL.canParse(iri) ? new URL(iri).origin : null) : iri.origin;
  const [x, y] = [origin(a), origin(b)];
  return x != null && x !== "null" && x === y;
}

/** Whether an admin blocked this host or a parent domain of it. */
export async function isBlockedHost(deps: Pick<Deps, "db">, host: string): Promise<boolean> {
  return (await firstBlocked(deps, [host.toLowerCase()])) !== undefined;
}

/** The first of these hosts that a block covers, in one query for them all. */
async function firstBlocked(deps: Pick<Deps, "db">, hosts: readonly string[]): Promise<string | undefined> {
  const blocked = await blockedAmong(deps, hosts);
  return hosts.find((host) => blocked.has(host));
}

/**
 * Every host named by an IRI anywhere in a JSON document (bounded: at most `limit` strings
 * looked at), so that a blocked server is refused wherever it appears in an activity.
 */
export function hostsIn(json: unknown, limit = 10_000): Set<string> {
  const hosts = new Set<string>();
  let seen = 0;
  // Contexts name vocabularies, not servers that act.
  for (const { value, key } of jsonNodes(json, (key) => key === "@context")) {
    if (++seen > limit) break;
    if (key !== "@context" && typeof value === "string" && /^https?:\/\//i.test(value) && URL.canParse(value))
      hosts.add(hostOf(value));
  }
  return hosts;
}

/** The first blocked host among those a document names, if any. */
export async function blockedHostIn(deps: Pick<Deps, "db">, json: unknown): Promise<string | undefined> {
  return await firstBlocked(deps, [...hostsIn(json)]);
}

/** Attachments of an actor read at most, fields or not. */
const maxAttachmentsRead = 2 * maxProfileFields;

/**
 * An actor's profile fields from its `PropertyValue` attachments (Mastodon's shape), as plain
 * text held to our limits: the value's HTML is read for its text only (a link shows the
 * address it says, which is the one we link). Mastodon's `verified_at` is not read: we show
 * remote fields unverified rather than take another server's word.
 */
async function fieldsOfActor(actor: Actor): Promise<ProfileFieldInput[]> {
  const fields: ProfileFieldInput[] = [];
  // Every item counts, read or not: an attachment given by URL is fetched to be read, and a
  // list of thousands must not make as many fetches.
  let seen = 0;
  try {
    for await (const item of actor.getAttachments()) {
      if (item instanceof PropertyValue) {
        const name = truncate(cleanName(plainText(item.name?.toString() ?? "")), profileFieldLimits.name);
        const value = truncate(cleanName(plainText(item.value?.toString() ?? "")), profileFieldLimits.value);
        if (name && value) fields.push({ name, value });
      }
      if (fields.length >= maxProfileFields || ++seen >= maxAttachmentsRead) break;
    }
  } catch {
    // An attachment that cannot be read (a reference that does not resolve) ends the list.
  }
  return fields;
}

/** Stores what an actor document says about a remote actor; returns its local id. */
export async function rememberActor(deps: Deps, actor: Actor): Promise<string> {
  if (actor.id == null) throw new AppError("validation_failed", "The actor has no id.");
  const icon = await actor.getIcon().catch(() => null);
  const iconUrl = icon?.url instanceof URL ? icon.url.href : (icon?.url?.href?.href ?? null);
  // Names as another server writes them, held to the rules of ours (no NUL, no bidi tricks).
  const name = truncate(cleanName(plainText(actor.name?.toString() ?? "")), maxName);
  const given = actor.preferredUsername?.toString() ?? actor.id.pathname.split("/").filter(Boolean).at(-1) ?? "";
  const username = truncate(cleanName(given).replace(/\s/g, ""), 100);
  // The emoji its name uses (Mastodon tags a profile's), its server's.
  await learnEmojiOf(deps, actor.id.host, actor);
  return await upsertRemoteActor(deps, {
    iri: actor.id.href,
    handle: `${username}@${actor.id.host}`,
    name: name || username,
    inbox: actor.inboxId?.href ?? null,
    sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
    avatarUrl: iconUrl && /^https?:/.test(iconUrl) ? iconUrl : null,
    // Mastodon's rule: a `Service` or an `Application` is a bot.
    bot: actor instanceof Service || actor instanceof Application,
    fields: await fieldsOfActor(actor),
  });
}

/**
 * The local id of a remote actor, fetching its document the first time (and again once a
 * day). Our own actors are never fetched: their id is looked up directly.
 * @returns undefined when it cannot be fetched or is not an actor.
 */
export async function actorIdFor(ctx: Context<Deps>, iri: URL): Promise<string | undefined> {
  const deps = ctx.data;
  if (iri.origin === new URL(deps.config.origin).origin) {
    const username = /^\/users\/([a-z0-9_]{3,32})$/.exec(iri.pathname)?.[1];
    if (username == null) return undefined;
    const [row] = await deps.db
      .select({ id: actors.id })
      .from(actors)
      .where(sql`${actors.userId} = (select id from users where username = ${username} and suspended_at is null)`);
    return row?.id;
  }
  if (await isBlockedHost(deps, hostOf(iri))) return undefined;
  const [known] = await deps.db.select().from(actors).where(eq(actors.iri, iri.href));
  if (known?.fetchedAt && Date.now() - known.fetchedAt.getTime() < actorTtlMs) return known.id;
  const fetched = await ctx.lookupObject(iri.href).catch(() => null);
  if (fetched == null || !isActor(fetched) || fetched.id?.href !== iri.href) return known?.id;
  return await rememberActor(deps, fetched);
}

/** Remote actor ids by IRI for those already stored (no fetching). */
export async function storedActorId(deps: Pick<Deps, "db">, iri: URL): Promise<string | undefined> {
  const [row] = await deps.db.select({ id: actors.id }).from(actors).where(eq(actors.iri, iri.href));
  return row?.id;
}

/** Stores what a `Group` document says about a remote room; returns the room's mirror. */
export async function rememberGroup(deps: Deps, group: Group): Promise<Room> {
  if (group.id == null) throw new AppError("validation_failed", "The group has no id.");
  const name = truncate(cleanName(plainText(group.name?.toString() ?? "")), maxName);
  return await upsertRemoteRoom(deps, {
    iri: group.id.href,
    name: name || truncate(cleanName(group.preferredUsername?.toString() ?? "") || "Remote room", maxName),
    topic: truncate(cleanText(plainText(group.summary?.toString() ?? "")), maxTopic),
    visibility: group.manuallyApprovesFollowers ? "private" : "public",
    inbox: group.inboxId?.href ?? null,
    sharedInbox: group.endpoints?.sharedInbox?.href ?? null,
    outbox: group.outboxId?.href ?? null,
    // Only on the room's own server: pins are sent there, and read from there on joining.
    featured: group.featuredId && sameOrigin(group.featuredId, group.id) ? group.featuredId.href : null,
    retentionDays: await retentionOf(group),
  });
}

/** The mirror of the remote room a `Group` IRI names, if we have one. */
export async function mirrorOf(deps: Deps, iri: URL): Promise<Room | undefined> {
  return await roomByIri(deps, iri.href);
}

/** Fetches a `Group` (signed as `identifier` when given, for private rooms). */
export async function fetchGroup(ctx: Context<Deps>, target: string, identifier?: string): Promise<Group | undefined> {
  const documentLoader = identifier ? await ctx.getDocumentLoader({ identifier }) : undefined;
  const found: APObject | null = await ctx.lookupObject(target, { documentLoader }).catch(() => null);
  return found instanceof Group ? found : undefined;
}

/** The remote members of a room, as Fedify recipients (one delivery per shared inbox). */
export async function remoteMembers(deps: Pick<Deps, "db">, roomId: string) {
  const rows = await deps.db
    .select({ iri: actors.iri, inbox: actors.inbox, sharedInbox: actors.sharedInbox })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .where(and(eq(roomMembers.roomId, roomId), isNotNull(actors.iri), isNotNull(actors.inbox)));
  return rows.map(recipient);
}

/** One stored remote actor as a Fedify recipient. */
export function recipient(row: { iri: string | null; inbox: string | null; sharedInbox: string | null }) {
  return {
    id: new URL(row.iri as string),
    inboxId: new URL(row.inbox as string),
    endpoints: row.sharedInbox ? { sharedInbox: new URL(row.sharedInbox) } : null,
  };
}

/** Removes a room's remote members whose inbox (or shared inbox) is gone for good. */
export async function dropUnreachableMembers(deps: Deps, roomId: string, inbox: URL): Promise<void> {
  const gone = await deps.db
    .select({ actorId: roomMembers.actorId })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .where(
      and(
        eq(roomMembers.roomId, roomId),
        isNotNull(actors.iri),
        sql`(${actors.inbox} = ${inbox.href} or ${actors.sharedInbox} = ${inbox.href})`,
      ),
    );
  for (const { actorId } of gone) await removeRemoteMember(deps, roomId, actorId, "left");
}
