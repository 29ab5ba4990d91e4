import type { RequestContext } from "@fedify/fedify";
import { Endpoints, Group, Image } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { avatarMediaType, avatarUrl } from "../src/media/avatars.ts";
import { publishedRoom } from "../src/rooms/keys.ts";
import { bioHtml } from "./users.ts";

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
export async function toGroup(ctx: RequestContext<Deps>, identifier: string, room: Room): Promise<Group> {
  const keys = await ctx.getActorKeyPairs(identifier);
  const icon = avatarUrl(ctx.data, room.avatar);
  return new Group({
    id: ctx.getActorUri(identifier),
    preferredUsername: room.id,
    name: room.name,
    summary: bioHtml(room.topic),
    url: ctx.getActorUri(identifier),
    icon: icon && room.avatar ? new Image({ url: new URL(icon), mediaType: avatarMediaType(room.avatar) }) : null,
    published: Temporal.Instant.fromEpochMilliseconds(room.createdAt.getTime()),
    inbox: ctx.getInboxUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    manuallyApprovesFollowers: false,
    discoverable: true,
    publicKey: keys[0]?.cryptographicKey,
    assertionMethods: keys.map((k) => k.multikey),
  });
}
