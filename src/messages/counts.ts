/** Counts over stored messages: NodeInfo's figure, and the holes in a mirror's numbering. */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { queryRows } from "../db/client.ts";
import { actors, messages, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

/** Messages our users wrote in public rooms hosted here (NodeInfo's `localPosts`). */
export async function publicLocalMessageCount(deps: Pick<Deps, "db">): Promise<number> {
  const [row] = await deps.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(messages)
    .innerJoin(rooms, eq(rooms.id, messages.roomId))
    .innerJoin(actors, eq(actors.id, messages.authorId))
    .where(
      and(
        isNull(messages.deletedAt),
        isNull(rooms.iri),
        eq(rooms.visibility, "public"),
        eq(rooms.direct, false),
        isNotNull(actors.userId),
      ),
    );
  return row?.n ?? 0;
}

/**
 * Whether a mirror lacks a number between `after` and `before` (both excluded): a message that
 * has not come, as opposed to one stored or known deleted.
 */
export async function mirrorHasGap(
  deps: Pick<Deps, "db">,
  roomId: string,
  after: number,
  before: number,
): Promise<boolean> {
  if (before - after <= 1) return false;
  const [row] = await queryRows<{ held: number }>(
    deps.db,
    sql`select count(distinct seq)::int as held from (
          select seq from messages where room_id = ${roomId} and seq > ${after} and seq < ${before}
          union all
          select seq from tombstones where room_id = ${roomId} and seq > ${after} and seq < ${before}) s`,
  );
  return (row?.held ?? 0) < before - after - 1;
}
