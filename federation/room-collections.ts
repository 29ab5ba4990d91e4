import type { Context, Federation, RequestContext } from "@fedify/fedify";
import { Object as ApObject, Note } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { pinnedMessages } from "../src/messages/pins.ts";
import type { Role } from "../src/rooms/permissions.ts";
import { moderatingRoles, type RosterEntry, roomRoster, rosterSize } from "../src/rooms/roster.ts";
import { actorIri as storedActorIri, toNote } from "./notes.ts";
import { mayRead, roomAudience, roomCollection, roomOf } from "./rooms.ts";
import { userIdentifier } from "./users.ts";

// The collections a room's `Group` names, as Lemmy and Mbin serve theirs: `attributedTo` (the
// moderators), `followers`, `featured`, plus `members`, the target of the room's `Add` and
// `Remove`. They are registered on the shared actor path (`/{+identifier}/…`), so a user's or
// the instance actor's would match too: those answer 404.
//
// Fedify's own `setFollowersDispatcher` and `setFeaturedDispatcher` are not used: with them,
// Fedify checks every actor the shared dispatcher returns and warns when it lacks the
// collection, which each `Person` (unchanged) and the instance actor would do on every fetch.

/** Members per page; a list no longer than this is served inline, without pages. */
const pageSize = 100;

type Values = Record<"identifier", string>;

/** A member's actor IRI: ours from the username, a remote one as stored. */
function actorIri(ctx: Context<Deps>, entry: RosterEntry): URL | undefined {
  if (entry.username != null) return ctx.getActorUri(userIdentifier(entry.username));
  return entry.iri == null ? undefined : (URL.parse(entry.iri) ?? undefined);
}

/** The callbacks of a list of the room's members (of some roles), paged by offset. */
function roster(roles?: readonly Role[]) {
  const size = async (ctx: RequestContext<Deps>, { identifier }: Values) => {
    const room = await roomOf(ctx.data, identifier);
    return room ? await rosterSize(ctx.data, room.id, roles) : null;
  };
  return {
    async dispatch(ctx: RequestContext<Deps>, { identifier }: Values, cursor: string | null) {
      const room = await roomOf(ctx.data, identifier);
      const offset = cursor == null ? 0 : Number(cursor);
      if (room == null || !Number.isSafeInteger(offset) || offset < 0) return null;
      const entries = await roomRoster(ctx.data, room.id, { roles, offset, limit: pageSize });
      // Fedify writes a URL item as the bare IRI; its types only name objects.
      const items = entries.flatMap((entry) => actorIri(ctx, entry) ?? []) as unknown as ApObject[];
      const nextCursor = cursor != null && entries.length === pageSize ? String(offset + pageSize) : null;
      return { items, nextCursor };
    },
    size,
    async firstCursor(ctx: RequestContext<Deps>, values: Values) {
      return ((await size(ctx, values)) ?? 0) > pageSize ? "0" : null;
    },
  };
}

/**
 * Who may read a room's collections: the `mayRead` rule of its history (anyone for a public
 * room; for a private one, requests signed by a server with a member in it; others get 401).
 * What is not a room passes, to be answered 404 by the dispatcher.
 */
async function readable(ctx: RequestContext<Deps>, values: Record<string, string>): Promise<boolean> {
  const room = await roomOf(ctx.data, values.identifier ?? "");
  return room == null || (await mayRead(ctx, room));
}

/** Registers the collections of the rooms' `Group`s. */
export function roomCollections(federation: Federation<Deps>): void {
  const moderators = roster(moderatingRoles);
  federation
    .setOrderedCollectionDispatcher(
      roomCollection.moderators,
      ApObject,
      "/{+identifier}/moderators",
      moderators.dispatch,
    )
    .setCounter(moderators.size)
    .setFirstCursor(moderators.firstCursor)
    .authorize(readable);

  const members = roster();
  federation
    .setOrderedCollectionDispatcher(roomCollection.members, ApObject, "/{+identifier}/members", members.dispatch)
    .setCounter(members.size)
    .setFirstCursor(members.firstCursor)
    .authorize(readable);

  // Followers are the members; a `Collection`, as Lemmy's and the ActivityPub spec's are.
  federation
    .setCollectionDispatcher(roomCollection.followers, ApObject, "/{+identifier}/followers", members.dispatch)
    .setCounter(members.size)
    .setFirstCursor(members.firstCursor)
    .authorize(readable);

  // The pinned messages as `Note`s, newest pin first (at most 50: never paged).
  federation
    .setOrderedCollectionDispatcher(roomCollection.featured, Note, "/{+identifier}/featured", async (ctx, values) => {
      const room = await roomOf(ctx.data, values.identifier);
      return room ? { items: await pinnedNotes(ctx, room) } : null;
    })
    .setCounter(async (ctx, { identifier }) => {
      const room = await roomOf(ctx.data, identifier);
      return room ? (await pinnedMessages(ctx.data, room.id)).length : null;
    })
    .authorize(readable);
}

/** A room's pinned messages as the `Note`s its `featured` collection lists. */
async function pinnedNotes(ctx: Context<Deps>, room: Room): Promise<Note[]> {
  const notes: Note[] = [];
  for (const message of await pinnedMessages(ctx.data, room.id)) {
    const author = await storedActorIri(ctx.data, message.authorId);
    if (author) notes.push(await toNote(ctx.data, message, author, roomAudience(ctx, room)));
  }
  return notes;
}

const featuredPath = /^\/rooms\/[0-9a-f-]{36}\/featured$/;

/**
 * The featured collection as served, with `orderedItems: []` when nothing is pinned: Fedify
 * leaves an empty list out, and Lemmy's reader then skips the whole collection. Other
 * responses pass unchanged.
 */
export async function withEmptyFeatured(url: URL, response: Response): Promise<Response> {
  if (response.status !== 200 || !featuredPath.test(url.pathname) || url.searchParams.has("cursor")) return response;
  const json = (await response.clone().json()) as Record<string, unknown>;
  if (json.type !== "OrderedCollection" || "orderedItems" in json || json.totalItems !== 0) return response;
  return new Response(JSON.stringify({ ...json, orderedItems: [] }), {
    status: 200,
    headers: response.headers,
  });
}
