import type { RequestContext } from "@fedify/fedify";
import { Group } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { publishedRoom } from "../src/rooms/keys.ts";
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
export async function toGroup(ctx: RequestContext<Deps>, identifier: string, room: Room): Promise<Group> {
  return new Group(
    await actorProperties(ctx, identifier, {
      preferredUsername: room.id,
      name: room.name,
      text: room.topic,
      avatar: room.avatar,
      createdAt: room.createdAt,
    }),
  );
}
