import { eq, lt, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { events, streamPosition } from "../db/schema.ts";

/** The live stream's event types (DESIGN.md §5). */
export type EventType =
  | "message.created"
  | "message.updated"
  | "message.deleted"
  | "message.previews"
  | "reaction.added"
  | "reaction.removed"
  | "invitation.updated"
  | "pins"
  | "member.joined"
  | "member.left"
  | "member.updated"
  | "room.updated"
  | "room.deleted"
  | "read"
  | "thread.read"
  | "room.notifications"
  | "notification"
  | "contact.updated"
  | "block.updated"
  | "stickers.updated"
  | "emoji.updated"
  | "profile.updated"
  /** A local account deleted: the publisher sends `Delete` of the `Person` to `data.inboxes`. */
  | "account.deleted"
  | "commands.updated"
  | "report.created"
  | "report.updated";

/**
 * One event to append: for a room's members, (with `actorId` and no room) for one actor, or
 * (with neither) for every connected client (`emoji.updated`).
 */
export interface NewEvent {
  readonly type: EventType;
  readonly roomId?: string | null;
  readonly actorId?: string | null;
  readonly data: unknown;
  /** The remote activity behind the event, which the room's server relays as it is. */
  readonly activity?: unknown;
  /** Beyond `actorId`: the members of these rooms and these actors get the event too. */
  readonly audience?: { readonly rooms: readonly string[]; readonly actors: readonly string[] };
}

/** PostgreSQL notification channel: its payload is the newest position. */
export const eventsChannel = "fedchat_events";
/** Ephemeral events (typing, presence) travel on their own channel and are not replayed. */
export const ephemeralChannel = "fedchat_ephemeral";

/**
 * Appends events to the stream log inside the caller's transaction. Positions come from the
 * single `stream_position` row, locked until the transaction commits: positions therefore
 * follow commit order, and a reader that has seen position P has seen every event before it.
 * The NOTIFY is delivered at commit, to every process listening.
 * @returns The position of each event, in order.
 */
export async function appendEvents(tx: DatabaseLike, list: readonly NewEvent[]): Promise<number[]> {
  if (list.length === 0) return [];
  const [counter] = await tx
    .update(streamPosition)
    .set({ position: sql`${streamPosition.position} + ${list.length}` })
    .where(eq(streamPosition.id, 1))
    .returning({ position: streamPosition.position });
  if (counter == null) throw new Error("The stream_position row is missing: were the migrations applied?");
  const first = counter.position - list.length + 1;
  await tx.insert(events).values(
    list.map((event, i) => ({
      position: first + i,
      roomId: event.roomId ?? null,
      actorId: event.actorId ?? null,
      type: event.type,
      data: event.data as object,
      activity: (event.activity ?? null) as object | null,
      audienceRooms: event.audience ? [...event.audience.rooms] : null,
      audienceActors: event.audience ? [...event.audience.actors] : null,
    })),
  );
  await tx.execute(sql`select pg_notify(${eventsChannel}, ${String(counter.position)})`);
  return list.map((_, i) => first + i);
}

/** How long the log keeps events for clients that reconnect; older positions get resync. */
export const eventRetentionDays = 7;

/** Deletes events older than the retention period, in one statement; returns how many. */
export async function purgeEvents(db: DatabaseLike): Promise<number> {
  const deleted = await db
    .delete(events)
    .where(lt(events.createdAt, sql`now() - make_interval(days => ${eventRetentionDays})`))
    .returning({ position: events.position });
  return deleted.length;
}
