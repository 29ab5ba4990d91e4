import { sql } from "drizzle-orm";
import { type DatabaseLike, queryRows } from "../db/client.ts";

/** The most participants a thread's summary names (the latest repliers first). */
export const maxSummaryParticipants = 5;

/** What a thread's root shows under it, with the ids of its latest repliers. */
export interface ThreadSummaryRow {
  readonly count: number;
  readonly lastReplyAt: string;
  /** Actor ids, the latest replier first, without repeats, at most {@link maxSummaryParticipants}. */
  readonly participants: string[];
  /** Replies by others past the viewer's read position in the thread (and past their own last reply). */
  readonly unread: number;
}

/**
 * The summaries of the threads under some messages, for one viewer, in one query: the number
 * of replies (tombstones included: they keep their place, as on the main timeline), the time of
 * the last, the latest repliers, and how many the viewer has not read. A reply the viewer wrote
 * reads everything before it, as a send does on the main timeline.
 * @returns The summaries by root id; messages without replies are absent.
 */
export async function threadSummaries(
  db: DatabaseLike,
  rootIds: readonly string[],
  viewerId: string | null,
): Promise<Map<string, ThreadSummaryRow>> {
  const result = new Map<string, ThreadSummaryRow>();
  if (rootIds.length === 0) return result;
  const ids = sql.join(
    rootIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const viewer = viewerId ? sql`${viewerId}::uuid` : sql`null::uuid`;
  const rows = await queryRows<{ root: string; count: number; last: string | Date; authors: string[]; unread: number }>(
    db,
    sql`
    with replies as (
      select m.thread_root_id, m.seq, m.author_id, m.created_at from messages m
       where m.thread_root_id in (${ids})
    ), seen as (
      select r.thread_root_id, greatest(
               coalesce(max(r.seq) filter (where r.author_id = ${viewer}), 0),
               coalesce((select tr.last_read_seq from thread_reads tr
                          where tr.root_id = r.thread_root_id and tr.actor_id = ${viewer}), 0)) as upto
        from replies r group by r.thread_root_id
    )
    select r.thread_root_id as root, count(*)::int as count, max(r.created_at) as last,
           array_agg(r.author_id::text order by r.seq desc) as authors,
           (count(*) filter (where r.seq > s.upto and r.author_id is distinct from ${viewer}))::int as unread
      from replies r join seen s on s.thread_root_id = r.thread_root_id
     group by r.thread_root_id`,
  );
  for (const row of rows) {
    const participants = [...new Set(row.authors)].slice(0, maxSummaryParticipants);
    result.set(row.root, {
      count: Number(row.count),
      lastReplyAt: new Date(row.last).toISOString(),
      participants,
      unread: viewerId ? Number(row.unread) : 0,
    });
  }
  return result;
}
