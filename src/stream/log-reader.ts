import { and, arrayContains, arrayOverlaps, asc, eq, gt, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { builtOnce, type DatabaseLike } from "../db/client.ts";
import { events, streamPosition } from "../db/schema.ts";

// The event log as the live stream reads it (src/stream/events.ts writes it).

/**
 * The columns of an event the stream needs, its data as the JSON text PostgreSQL keeps: each
 * event is written to every recipient as one string made from it, never parsed and serialised
 * again (only the few whose data the hub reads are parsed, once).
 */
export const streamColumns = {
  position: events.position,
  type: events.type,
  roomId: events.roomId,
  actorId: events.actorId,
  dataText: sql<string>`${events.data}::text`,
  audienceRooms: events.audienceRooms,
  audienceActors: events.audienceActors,
};

export interface StreamRow {
  position: number;
  type: string;
  roomId: string | null;
  actorId: string | null;
  dataText: string;
  /** Who else gets an event addressed to an actor (a profile change): see `events.audienceRooms`. */
  audienceRooms?: string[] | null;
  audienceActors?: string[] | null;
}

/** One event as the client sees it; an event addressed to one actor names its room too. */
export function serialize(event: StreamRow, data: () => unknown): string {
  const roomId = event.roomId ?? (data() as { roomId?: unknown } | null)?.roomId;
  const head = JSON.stringify({
    type: event.type,
    position: Number(event.position),
    ...(typeof roomId === "string" ? { roomId } : {}),
  });
  return `${head.slice(0, -1)},"data":${event.dataText}}`;
}

/** Parses an event's data on first use only. */
export function lazyData(row: StreamRow): () => unknown {
  let parsed: { value: unknown } | undefined;
  return () => {
    parsed ??= { value: JSON.parse(row.dataText) };
    return parsed.value;
  };
}

/** The newest committed position (the counter; the log itself may have been purged). */
export async function committedHead(db: DatabaseLike): Promise<number> {
  const [row] = await db
    .select({ position: streamPosition.position })
    .from(streamPosition)
    .where(eq(streamPosition.id, 1));
  return Number(row?.position ?? 0);
}

/** The position of the oldest event kept, or undefined when the log is empty. */
export async function oldestKept(db: DatabaseLike): Promise<number | undefined> {
  const [oldest] = await db.select({ position: sql<number | null>`min(${events.position})` }).from(events);
  return oldest?.position == null ? undefined : Number(oldest.position);
}

/** The hub's read after each notification, prepared (it runs for every batch of sends). */
const afterStatement = builtOnce((db) =>
  db
    .select(streamColumns)
    .from(events)
    .where(gt(events.position, sql.placeholder("position")))
    .orderBy(asc(events.position))
    .limit(sql.placeholder("limit"))
    .prepare("fedchat_events_after"),
);

/** Up to `limit` events after `position`, in order. */
export async function eventsAfter(db: DatabaseLike, position: number, limit: number): Promise<StreamRow[]> {
  return await afterStatement(db).execute({ position, limit });
}

/**
 * What a connection missed in (since, head]: its rooms' events, those addressed to it, and
 * those whose audience names one of its rooms or it.
 */
export async function eventsForReplay(
  db: DatabaseLike,
  range: { since: number; head: number; rooms: readonly string[]; actorId: string },
): Promise<StreamRow[]> {
  return await db
    .select(streamColumns)
    .from(events)
    .where(
      and(
        gt(events.position, range.since),
        lte(events.position, range.head),
        or(
          range.rooms.length ? inArray(events.roomId, [...range.rooms]) : sql`false`,
          eq(events.actorId, range.actorId),
          and(isNull(events.roomId), isNull(events.actorId)),
          range.rooms.length ? arrayOverlaps(events.audienceRooms, [...range.rooms]) : sql`false`,
          arrayContains(events.audienceActors, [range.actorId]),
        ),
      ),
    )
    .orderBy(asc(events.position));
}
