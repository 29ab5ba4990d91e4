/**
 * Pushes room events to bots' URLs, for bots that would rather be called than hold a stream.
 * Two steps, each safe with several processes:
 * - collect: one process at a time (the `bot_hook_cursor` row, locked with SKIP LOCKED) reads
 *   the event log past its cursor, and for each `message.created` of a room with hooked bot
 *   members (not the bot's own messages) queues one signed-later body per bot in
 *   `bot_hook_deliveries`, keeping at most {@link maxQueuedPerBot} per bot (the oldest go);
 * - deliver: every process claims due rows (at most 5 per bot, the oldest, for bots it is not
 *   sending to already; claimed by an update that checks each row again, leased for a minute),
 *   sends each bot's in the background through the bounded fetcher (hooks.ts), so a slow bot
 *   holds up only itself, deletes the delivered, and retries the rest after
 *   {@link retryDelaysMs}; a row that failed its last attempt is dropped.
 * A bot's deliveries are sent one after another, oldest first; order across retries is not
 * promised (a bot that must know uses the event's `position`).
 * @module
 */
import { and, asc, eq, gt, inArray, lte, notInArray, sql } from "drizzle-orm";
import type { DatabaseHandle } from "../db/client.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { botHookCursor, botHookDeliveries, botHooks, events, roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logger } from "../log.ts";
import { eventsChannel } from "../stream/events.ts";
import { committedHead } from "../stream/log-reader.ts";
import { callBot } from "./hooks.ts";

const log = logger("bots");

/** Pending pushes kept per bot; past this, the oldest are dropped. */
export const maxQueuedPerBot = 100;
/** Waits before each retry; after the last, the push is dropped (about 13 minutes in all). */
export const retryDelaysMs = [1000, 5000, 30_000, 120_000, 600_000] as const;
/** The least time between rounds that NOTIFYs start. */
export const kickGapMs = 100;
/** Events read from the log per round. */
const batchSize = 200;
/** Deliveries claimed per round, and per bot. */
const claimSize = 50;
const claimPerBot = 5;
/** A claimed delivery is another process's again after this (its claimer died). */
const leaseSeconds = 60;

export class BotHookPusher {
  readonly #deps: Deps;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #round: Promise<void> | null = null;
  /** Bots this process is sending to now, and those sends. */
  readonly #busy = new Set<string>();
  readonly #jobs = new Set<Promise<void>>();
  /** Whether some bot wants events pushed (as of the last round): NOTIFYs start rounds only then. */
  #pushing = false;
  #again = false;
  #unlisten: (() => Promise<void>) | undefined;

  /** @param options `intervalMs`: how often a round runs (1 s). */
  constructor(deps: Deps, options: { intervalMs?: number } = {}) {
    this.#deps = deps;
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  /**
   * Runs a round every `intervalMs`, and, while some bot wants pushes, soon after each NOTIFY
   * of the event log (rounds at least {@link kickGapMs} apart), so a push does not wait for
   * the timer. Without `database` (tests of the domain), the timer alone.
   */
  async start(database?: DatabaseHandle): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce(), this.#intervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
    if (database) {
      this.#unlisten = await database.listen(eventsChannel, () => {
        if (this.#pushing) this.#kick();
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#pushing = false;
    await this.#unlisten?.().catch(() => {});
    await this.#round;
    // Each send is bounded by the fetcher's deadline.
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  /** A round now, or one more after the running one: commits in a burst make few rounds. */
  #kick(): void {
    if (this.#round) {
      this.#again = true;
      return;
    }
    void this.runOnce().then(() => {
      if (!this.#again || this.#timer == null) return;
      this.#again = false;
      setTimeout(() => this.#kick(), kickGapMs).unref?.();
    });
  }

  /** One round: collect, then deliver what is due. A round already running is waited for instead. */
  async runOnce(): Promise<void> {
    if (this.#round) return await this.#round;
    this.#round = (async () => {
      try {
        await this.#collect();
        await this.#deliver();
      } catch (error) {
        if (isDatabaseUnavailable(error)) log.warn("Bot pushes wait for the database: {error}", { error });
        else log.error("Pushing events to bots failed: {error}", { error });
      }
    })();
    try {
      await this.#round;
    } finally {
      this.#round = null;
    }
  }

  async #collect(): Promise<void> {
    const db = this.#deps.db;
    const [hooked] = await db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(botHooks)
      .where(sql`cardinality(${botHooks.events}) > 0`);
    this.#pushing = (hooked?.n ?? 0) > 0;
    await db.transaction(async (tx) => {
      const [cursor] = await tx
        .select()
        .from(botHookCursor)
        .where(eq(botHookCursor.id, 1))
        .for("update", { skipLocked: true });
      const head = await committedHead(tx);
      if (cursor == null) {
        // First round ever (or another process holds it): start from now, never from the past.
        await tx.insert(botHookCursor).values({ id: 1, position: head }).onConflictDoNothing();
        return;
      }
      if (head <= cursor.position) return;
      let position = head;
      if (this.#pushing) {
        const rows = await tx
          .select({ position: events.position, roomId: events.roomId, type: events.type, data: events.data })
          .from(events)
          .where(
            and(gt(events.position, cursor.position), lte(events.position, head), eq(events.type, "message.created")),
          )
          .orderBy(asc(events.position))
          .limit(batchSize);
        if (rows.length === batchSize) position = (rows[rows.length - 1] as { position: number }).position;
        await this.#queue(tx, rows);
      }
      await tx.update(botHookCursor).set({ position }).where(eq(botHookCursor.id, 1));
    });
  }

  /** Queues each event for the hooked bots among its room's members, then trims each bot's queue. */
  async #queue(
    tx: Deps["db"],
    rows: readonly { position: number; roomId: string | null; type: string; data: unknown }[],
  ): Promise<void> {
    const roomIds = [...new Set(rows.flatMap((r) => (r.roomId ? [r.roomId] : [])))];
    if (roomIds.length === 0) return;
    const bots = await tx
      .select({ roomId: roomMembers.roomId, botId: botHooks.botId, events: botHooks.events })
      .from(roomMembers)
      .innerJoin(botHooks, eq(botHooks.botId, roomMembers.actorId))
      .where(inArray(roomMembers.roomId, roomIds));
    const queued: { botId: string; body: string }[] = [];
    for (const row of rows) {
      const authorId = (row.data as { message?: { author?: { id?: string } } }).message?.author?.id;
      for (const bot of bots) {
        if (bot.roomId !== row.roomId || !bot.events.includes(row.type) || bot.botId === authorId) continue;
        const event = { type: row.type, roomId: row.roomId, position: row.position, data: row.data };
        queued.push({ botId: bot.botId, body: JSON.stringify({ type: "event", event }) });
      }
    }
    if (queued.length === 0) return;
    await tx.insert(botHookDeliveries).values(queued);
    const trimmed = await tx.execute<{ bot_id: string }>(sql`
      delete from ${botHookDeliveries} d
      where d.bot_id in (${sql.join(
        [...new Set(queued.map((q) => q.botId))].map((id) => sql`${id}::uuid`),
        sql`, `,
      )})
        and d.id < (
          select k.id from ${botHookDeliveries} k where k.bot_id = d.bot_id
          order by k.id desc offset ${maxQueuedPerBot - 1} limit 1
        )
      returning d.bot_id`);
    const dropped = Array.isArray(trimmed) ? trimmed.length : ((trimmed as { rows?: unknown[] }).rows?.length ?? 0);
    if (dropped > 0) log.warn("Dropped {dropped} pushes to bots whose queues were full.", { dropped });
  }

  /**
   * Claims due deliveries of bots this process is not already sending to (a few per bot, the
   * oldest), and sends each bot's in the background: a slow or dead bot holds up only itself.
   */
  async #deliver(): Promise<void> {
    const db = this.#deps.db;
    const busy = [...this.#busy];
    // Candidates first (a window cannot be locked), then claimed by an update that checks each
    // row again under its lock: a row another process claimed meanwhile is due no longer.
    const candidates = db.$with("candidates").as(
      db
        .select({
          id: botHookDeliveries.id,
          rank: sql<number>`row_number() over (partition by ${botHookDeliveries.botId} order by ${botHookDeliveries.id})`.as(
            "rank",
          ),
        })
        .from(botHookDeliveries)
        .where(
          and(
            lte(botHookDeliveries.nextAttemptAt, sql`now()`),
            busy.length > 0 ? notInArray(botHookDeliveries.botId, busy) : undefined,
          ),
        ),
    );
    const claimed = await db
      .with(candidates)
      .update(botHookDeliveries)
      .set({
        attempts: sql`${botHookDeliveries.attempts} + 1`,
        nextAttemptAt: sql`now() + make_interval(secs => ${leaseSeconds})`,
      })
      .where(
        and(
          inArray(
            botHookDeliveries.id,
            db
              .select({ id: candidates.id })
              .from(candidates)
              .where(lte(candidates.rank, claimPerBot))
              .orderBy(asc(candidates.id))
              .limit(claimSize),
          ),
          lte(botHookDeliveries.nextAttemptAt, sql`now()`),
        ),
      )
      .returning();
    if (claimed.length === 0) return;
    const hooks = await db
      .select()
      .from(botHooks)
      .where(inArray(botHooks.botId, [...new Set(claimed.map((c) => c.botId))]));
    const byBot = Map.groupBy(
      claimed.sort((a, b) => a.id - b.id),
      (c) => c.botId,
    );
    for (const [botId, list] of byBot) {
      const hook = hooks.find((h) => h.botId === botId);
      if (hook == null) continue;
      this.#busy.add(botId);
      const job = this.#sendAll(hook, list)
        .catch((error) => log.warn("Pushing to a bot failed: {error}", { error }))
        .finally(() => {
          this.#busy.delete(botId);
          this.#jobs.delete(job);
        });
      this.#jobs.add(job);
    }
  }

  /** Sends one bot's claimed deliveries in order; after a failure, the rest wait with it. */
  async #sendAll(
    hook: typeof botHooks.$inferSelect,
    list: readonly (typeof botHookDeliveries.$inferSelect)[],
  ): Promise<void> {
    const db = this.#deps.db;
    for (const [i, delivery] of list.entries()) {
      try {
        await callBot(this.#deps, hook, delivery.body, `push-${delivery.id}`);
        await db.delete(botHookDeliveries).where(eq(botHookDeliveries.id, delivery.id));
      } catch (error) {
        const delay = retryDelaysMs[delivery.attempts - 1];
        if (delay == null) {
          log.warn("Dropped a push to {url} after {attempts} attempts: {error}", {
            url: hook.url,
            attempts: delivery.attempts,
            error,
          });
          await db.delete(botHookDeliveries).where(eq(botHookDeliveries.id, delivery.id));
          continue;
        }
        const after = sql`now() + make_interval(secs => ${delay / 1000})`;
        await db.update(botHookDeliveries).set({ nextAttemptAt: after }).where(eq(botHookDeliveries.id, delivery.id));
        // Those not tried wait as long, their attempt not counted.
        const rest = list.slice(i + 1).map((d) => d.id);
        if (rest.length > 0) {
          await db
            .update(botHookDeliveries)
            .set({ nextAttemptAt: after, attempts: sql`${botHookDeliveries.attempts} - 1` })
            .where(inArray(botHookDeliveries.id, rest));
        }
        return;
      }
    }
  }
}
