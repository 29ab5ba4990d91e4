import { and, gt, inArray, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { presence } from "../db/schema.ts";

/** A presence row older than this belongs to a process that is gone. */
export const presenceFreshSeconds = 30;

/** The actors among `actorIds` that have a live stream on some server process. */
export async function onlineActors(db: DatabaseLike, actorIds: readonly string[]): Promise<Set<string>> {
  if (actorIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ actorId: presence.actorId })
    .from(presence)
    .where(
      and(
        inArray(presence.actorId, [...actorIds]),
        gt(presence.seenAt, sql`now() - make_interval(secs => ${presenceFreshSeconds})`),
      ),
    );
  return new Set(rows.map((r) => r.actorId));
}
