/**
 * Room retention: in a room with `retention_days` set, messages older than that are deleted
 * (tombstoned, as a delete does: content, edits, files, reactions, mentions and pins go; id and
 * seq stay, so history keeps no gaps). A periodic job, in bounded batches, each its own
 * transaction, so a room with a long past is worked through a little at a time and never
 * holds locks long. Mirrors apply their `Group`'s setting to their own copy; a hosted room's
 * deletions also reach its member servers as `Delete`s, like any other.
 * @module
 */
import { sql } from "drizzle-orm";
import { queryRows } from "../db/client.ts";
import type { Deps } from "../deps.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { tombstoneMessage } from "./messages.ts";

/** Messages per batch, and batches per run: a run deletes at most their product. */
export const retentionBatch = 100;
export const retentionBatchesPerRun = 10;

/**
 * Deletes one batch of messages past their room's retention, the oldest first; rows another
 * process is deleting are skipped.
 * @returns How many were deleted.
 */
export async function purgeExpiredBatch(deps: Deps, limit = retentionBatch): Promise<number> {
  const { count, hashes } = await deps.db.transaction(async (tx) => {
    const expired = await queryRows<{ id: string; room_id: string; seq: number }>(
      tx,
      sql`select m.id, m.room_id, m.seq from messages m
        join rooms r on r.id = m.room_id
        where r.retention_days is not null and r.deleted_at is null and m.deleted_at is null
          and m.created_at < now() - make_interval(days => r.retention_days)
        order by m.created_at
        limit ${limit}
        for update of m skip locked`,
    );
    const released: string[] = [];
    for (const row of expired) {
      const files = await tombstoneMessage(tx, { id: row.id, roomId: row.room_id, seq: Number(row.seq) }, null);
      if (files) released.push(...files);
    }
    return { count: expired.length, hashes: released };
  });
  await removeUnreferencedFiles(deps, hashes);
  return count;
}

/**
 * One run of the retention job: batches until none is full or {@link retentionBatchesPerRun}
 * are done (what is left waits for the next run).
 * @returns How many messages were deleted.
 */
export async function enforceRetention(deps: Deps): Promise<number> {
  let total = 0;
  for (let i = 0; i < retentionBatchesPerRun; i++) {
    const n = await purgeExpiredBatch(deps);
    total += n;
    if (n < retentionBatch) break;
  }
  return total;
}
