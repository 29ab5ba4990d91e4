/**
 * The data of federation delivery (issue 14): the outbox of what rooms here publish, one row
 * per activity, and one delivery stream per destination inbox with its own position in it.
 * federation/delivery.ts signs and sends; everything it reads and writes is here.
 * @module
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { queryRows } from "../db/client.ts";
import { type DeliveryStream, deliveryStreams, federationCursor, federationOutbox } from "../db/schema.ts";
import type { DeliveryBacklog } from "../metrics.ts";

/** The channel a NOTIFY on which tells every process's delivery worker there is work. */
export const deliveryChannel = "fedchat_delivery";

/** How long outbox rows are kept for a destination that does not answer: longer than 3 days. */
export const outboxRetentionDays = 4;

/** One activity for the outbox. */
export interface OutboxEntry {
  readonly position: number;
  readonly roomId: string;
  readonly body: string;
  readonly inboxes: readonly string[];
  /** Whether it may overtake, or be overtaken by, its neighbours on the way (a new message). */
  readonly reorderable: boolean;
  /** Which telling of the event (see the outbox's `variant`): 0 unless given. */
  readonly variant?: number;
}

/** What a stream sends next: an outbox row. */
export interface OutboxItem {
  readonly position: number;
  readonly roomId: string;
  readonly body: string;
  readonly reorderable: boolean;
}

/**
 * Queues what the publisher made of the log up to `last`, and moves its cursor there, in one
 * transaction: a crash either keeps all of it or none (and the publisher reads the events
 * again). Each destination's stream is made on first use, starting just before its first
 * activity, and learns the last position queued for it.
 */
export async function queueActivities(db: DatabaseLike, entries: readonly OutboxEntry[], last: number): Promise<void> {
  await db.transaction(async (tx) => {
    if (entries.length > 0) {
      // A process whose lease ran out mid-batch may queue what another already has: the same rows.
      await tx
        .insert(federationOutbox)
        .values(entries.map((e) => ({ ...e, inboxes: [...e.inboxes] })))
        .onConflictDoNothing();
      const span = new Map<string, { first: number; last: number }>();
      for (const entry of entries) {
        for (const inbox of entry.inboxes) {
          const known = span.get(inbox);
          if (known == null) span.set(inbox, { first: entry.position, last: entry.position });
          else known.last = Math.max(known.last, entry.position);
        }
      }
      if (span.size > 0) {
        await tx
          .insert(deliveryStreams)
          .values([...span].map(([inbox, s]) => ({ inbox, position: s.first - 1, queued: s.last })))
          .onConflictDoUpdate({
            target: deliveryStreams.inbox,
            set: { queued: sql`greatest(${deliveryStreams.queued}, excluded.queued)` },
          });
      }
    }
    await tx
      .update(federationCursor)
      .set({ position: sql`greatest(${federationCursor.position}, ${last})`, leasedUntil: null })
      .where(eq(federationCursor.id, 1));
    if (entries.length > 0) await tx.execute(sql`select pg_notify(${deliveryChannel}, '')`);
  });
}

/**
 * Leases up to `limit` streams that have something due and that no live process holds, to
 * `owner` for `leaseMs`. Most overdue first.
 */
export async function claimStreams(
  db: DatabaseLike,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<DeliveryStream[]> {
  if (limit <= 0) return [];
  return await queryRows<DeliveryStream>(
    db,
    sql`update delivery_streams s
          set leased_by = ${owner}, leased_until = now() + make_interval(secs => ${leaseMs / 1000})
        where s.inbox in (
          select d.inbox from delivery_streams d
           where d.queued > d.position and d.next_attempt_at <= now()
             and (d.leased_until is null or d.leased_until < now())
           order by d.next_attempt_at
           limit ${limit}
           for update skip locked)
        returning s.inbox, s.position::float8 as position, s.queued::float8 as queued, s.failures,
          s.next_attempt_at as "nextAttemptAt", s.leased_by as "leasedBy", s.leased_until as "leasedUntil",
          s.signature_spec as "signatureSpec", s.last_error as "lastError",
          s.last_success_at as "lastSuccessAt", s.created_at as "createdAt"`,
  );
}

/** The next activities for a destination after `after`, in order. */
export async function streamItems(
  db: DatabaseLike,
  inbox: string,
  after: number,
  limit: number,
): Promise<OutboxItem[]> {
  return await db
    .select({
      position: federationOutbox.position,
      roomId: federationOutbox.roomId,
      body: federationOutbox.body,
      reorderable: federationOutbox.reorderable,
    })
    .from(federationOutbox)
    .where(
      and(sql`${federationOutbox.inboxes} @> array[${inbox}]::text[]`, sql`${federationOutbox.position} > ${after}`),
    )
    .orderBy(asc(federationOutbox.position))
    .limit(limit);
}

/** Where a holder got to on a stream. */
export interface StreamProgress {
  readonly inbox: string;
  readonly position: number;
  /** The signature scheme the destination accepted, once known. */
  readonly signatureSpec: string | null;
  /** Whether anything was delivered since the last write. */
  readonly delivered: boolean;
}

/**
 * Records where `owner` got to on a stream and lets it go. After a failure (`retry`), the
 * failure count and the time of the next attempt are written too. Answers the last position
 * queued for it (undefined if it was not `owner`'s any more).
 */
export async function releaseStream(
  db: DatabaseLike,
  owner: string,
  progress: StreamProgress,
  retry?: { readonly failures: number; readonly delayMs: number; readonly error: string },
): Promise<number | undefined> {
  const [row] = await db
    .update(deliveryStreams)
    .set({
      position: sql`greatest(${deliveryStreams.position}, ${progress.position})`,
      signatureSpec: sql`coalesce(${progress.signatureSpec}, ${deliveryStreams.signatureSpec})`,
      leasedBy: null,
      leasedUntil: null,
      ...(progress.delivered ? { lastSuccessAt: sql`now()` } : {}),
      ...(retry
        ? {
            failures: retry.failures,
            lastError: retry.error.slice(0, 500),
            nextAttemptAt: sql`now() + make_interval(secs => ${retry.delayMs / 1000})`,
          }
        : progress.delivered
          ? { failures: 0 }
          : {}),
    })
    .where(and(eq(deliveryStreams.inbox, progress.inbox), eq(deliveryStreams.leasedBy, owner)))
    .returning({ queued: deliveryStreams.queued });
  return row?.queued;
}

/**
 * Writes where `owner` got to on the streams it holds and extends their leases, in one
 * statement. Answers the last position queued for each stream it still holds; a stream
 * missing from the answer was taken over by another process (its lease ran out).
 */
export async function renewLeases(
  db: DatabaseLike,
  owner: string,
  held: readonly StreamProgress[],
  leaseMs: number,
): Promise<Map<string, number>> {
  if (held.length === 0) return new Map();
  const rows = await queryRows<{ inbox: string; queued: number }>(
    db,
    sql`update delivery_streams s
          set position = greatest(s.position, v.position),
              signature_spec = coalesce(v.spec, s.signature_spec),
              failures = case when v.delivered then 0 else s.failures end,
              last_success_at = case when v.delivered then now() else s.last_success_at end,
              leased_until = now() + make_interval(secs => ${leaseMs / 1000})
         from jsonb_to_recordset(${JSON.stringify(held.map((h) => ({ ...h, spec: h.signatureSpec })))}::jsonb)
           as v(inbox text, position bigint, spec text, delivered boolean)
        where s.inbox = v.inbox and s.leased_by = ${owner}
        returning s.inbox, s.queued::float8 as queued`,
  );
  return new Map(rows.map((r) => [r.inbox, Number(r.queued)]));
}

/**
 * Deletes outbox rows every stream has passed, and rows older than {@link outboxRetentionDays}
 * (a destination that has not answered for that long misses them, as it would anywhere).
 */
export async function purgeOutbox(db: DatabaseLike): Promise<void> {
  await db.execute(sql`delete from federation_outbox
    where position <= coalesce((select min(position) from delivery_streams), 0)
       or created_at < now() - make_interval(days => ${outboxRetentionDays})`);
  // Streams that have nothing left and failed for longer than the retention are forgotten.
  await db.execute(sql`delete from delivery_streams
    where queued <= position and failures > 0
      and next_attempt_at < now() - make_interval(days => ${outboxRetentionDays})`);
}

/** Every stream, most behind first: for the admin command, tests and benchmarks. */
export async function deliveryStates(db: DatabaseLike): Promise<DeliveryStream[]> {
  return await db
    .select()
    .from(deliveryStreams)
    .orderBy(sql`${deliveryStreams.queued} - ${deliveryStreams.position} desc`, asc(deliveryStreams.inbox));
}

/**
 * What the delivery streams hold, for the metrics: streams, failing streams, activities not
 * delivered yet, and the `top` destination hosts furthest behind. One statement.
 */
export async function deliveryBacklog(db: DatabaseLike, top: number): Promise<DeliveryBacklog> {
  const [totals] = await queryRows<{ streams: number; failing: number; behind: number }>(
    db,
    sql`select count(*)::int as streams, (count(*) filter (where failures > 0))::int as failing,
          coalesce(sum(greatest(queued - position, 0)), 0)::float8 as behind
        from delivery_streams`,
  );
  const hosts = await queryRows<{ host: string; behind: number }>(
    db,
    sql`select substring(inbox from '^[a-z]+://([^/?#]+)') as host,
          sum(queued - position)::float8 as behind
        from delivery_streams where queued > position
        group by 1 order by 2 desc, 1 limit ${top}`,
  );
  return {
    streams: totals?.streams ?? 0,
    failing: totals?.failing ?? 0,
    behind: Number(totals?.behind ?? 0),
    top: hosts.map((h) => ({ host: h.host ?? "unknown", behind: Number(h.behind) })),
  };
}
