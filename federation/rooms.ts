import type { Context, RequestContext } from "@fedify/fedify";
import { Group } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { publishedRoom } from "../src/rooms/keys.ts";
import { hasMemberAt } from "../src/rooms/roster.ts";
import { actorProperties } from "./actors.ts";

const roomPath = /^rooms\/([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/;

/** The actor identifier of a room in the shared dispatcher: `rooms/<id>`. */
export function roomIdentifier(roomId: string): string {
  return `rooms/${roomId}`;
}

/** The published room an actor identifier names, if any; checks the form before the database. */
export async function roomOf(deps: Deps, identifier: string): Promise<Room | undefined> {
  const id = roomPath.exec(identifier)?.[1];
  return id ? await publishedRoom(deps, id) : undefined;
}

/**
 * A room as an ActivityPub `Group` (FEP-1b12): name, topic as summary, avatar, both keys. Its
 * WebFinger handle is `<room id>@<host>`: room ids contain `-`, which usernames cannot, so the
 * two never collide.
 */
export async function toGroup(ctx: Context<Deps>, identifier: string, room: Room): Promise<Group> {
  const open = room.visibility === "public" || (await signedByMemberServer(ctx, room));
  const properties = await actorProperties(ctx, identifier, {
    preferredUsername: room.id,
    name: open ? room.name : "Private room",
    text: open ? room.topic : "",
    avatar: open ? room.avatar : null,
    createdAt: room.createdAt,
  });
  return new Group({
    ...properties,
    // A private room admits only the invited: followers are approved, not automatic.
    manuallyApprovesFollowers: room.visibility === "private",
    discoverable: room.visibility === "public",
  });
}

/** The origin of the server that signed the request, if it is signed. */
async function signerOrigin(ctx: RequestContext<Deps>): Promise<string | undefined> {
  const owner = await ctx.getSignedKeyOwner().catch(() => null);
  return owner?.id?.origin;
}

/** Whether a request is signed by a server that has a member (or an invited user) in the room. */
async function signedByMemberServer(ctx: Context<Deps>, room: Room): Promise<boolean> {
  if (!("getSignedKeyOwner" in ctx)) return true;
  const origin = await signerOrigin(ctx as RequestContext<Deps>);
  return origin != null && (await hasMemberAt(ctx.data, room.id, origin, { invited: true }));
}

/**
 * Whether the signer of a request may read what a room holds (its history and messages):
 * anyone for a public room; for a private one, only a server that has a member in it.
 */
export async function mayRead(ctx: RequestContext<Deps>, room: Room): Promise<boolean> {
  if (room.visibility === "public" && !room.direct) return true;
  const origin = await signerOrigin(ctx);
  return origin != null && (await hasMemberAt(ctx.data, room.id, origin));
}
