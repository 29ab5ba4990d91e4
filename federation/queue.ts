import type {
  MessageQueue,
  MessageQueueDepth,
  MessageQueueEnqueueOptions,
  MessageQueueListenOptions,
} from "@fedify/fedify";
import { and, asc, count, eq, gt, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DatabaseHandle } from "../src/db/client.ts";
import { isDatabaseUnavailable } from "../src/db/errors.ts";
import { fedifyQueue } from "../src/db/schema.ts";
import { logger } from "../src/log.ts";

/** Options of {@link PostgresMessageQueue}. */
export interface PostgresMessageQueueOptions {
  /** How often an idle worker looks for due messages (delayed ones, missed notifications). */
  readonly pollIntervalMs?: number;
  /** Messages handled at once by one `listen()` call. */
  readonly concurrency?: number;
  /**
   * How long a claimed message stays invisible to other workers. The worker renews the lease
   * while its handler runs, so this only bounds how soon a crashed worker's message is retried.
   */
  readonly leaseMs?: number;
}

const notifyChannel = "fedchat_queue";
const log = logger("queue");

function delayMs(options?: MessageQueueEnqueueOptions): number {
  const ms = options?.delay?.total({ unit: "milliseconds" }) ?? 0;
  if (ms < 0) throw new RangeError("A queue delay cannot be negative.");
  return ms;
}

/**
 * Fedify's message queue on PostgreSQL (either driver): durable, with delays and ordering keys,
 * and safe with many worker processes on one database.
 *
 * A worker claims the oldest due message with `FOR UPDATE SKIP LOCKED` and leases it (moves
 * `locked_until` forward); it deletes the row once the handler returns. A worker that dies
 * mid-message leaves the lease to run out, and the message is handled again: delivery is
 * at least once, and a live cluster hands each message to exactly one worker.
 *
 * A message with an ordering key is eligible only when no earlier message with the same key
 * is left (queued or being handled), so each key's messages run one at a time, in order.
 * Enqueueing sends a NOTIFY so idle workers in every process wake at once.
 */
export class PostgresMessageQueue implements MessageQueue {
  /** Fedify retries failed deliveries itself, with the retry policy we configure. */
  readonly nativeRetrial = false;
  readonly #handle: DatabaseHandle;
  readonly #pollIntervalMs: number;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #wakers = new Set<() => void>();
  #unlisten: Promise<() => Promise<void>> | undefined;

  constructor(handle: DatabaseHandle, options: PostgresMessageQueueOptions = {}) {
    this.#handle = handle;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#leaseMs = options.leaseMs ?? 60_000;
  }

  async enqueue(message: unknown, options?: MessageQueueEnqueueOptions): Promise<void> {
    await this.enqueueMany([message], options);
  }

  async enqueueMany(messages: readonly unknown[], options?: MessageQueueEnqueueOptions): Promise<void> {
    if (messages.length === 0) return;
    const deliverAt = new Date(Date.now() + delayMs(options));
    await this.#handle.db
      .insert(fedifyQueue)
      .values(messages.map((message) => ({ message, orderingKey: options?.orderingKey ?? null, deliverAt })));
    await this.#handle.db.execute(sql`select pg_notify(${notifyChannel}, '')`);
    this.#wake();
  }

  async getDepth(): Promise<MessageQueueDepth> {
    const [row] = await this.#handle.db
      .select({
        queued: count(),
        ready: sql<number>`count(*) filter (where ${fedifyQueue.deliverAt} <= now())`.mapWith(Number),
      })
      .from(fedifyQueue)
      .where(or(isNull(fedifyQueue.lockedUntil), lte(fedifyQueue.lockedUntil, sql`now()`)));
    const queued = Number(row?.queued ?? 0);
    const ready = Number(row?.ready ?? 0);
    return { queued, ready, delayed: queued - ready };
  }

  async listen(
    handler: (message: unknown) => Promise<void> | void,
    options?: MessageQueueListenOptions,
  ): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) return;
    this.#unlisten ??= this.#handle
      .listen(notifyChannel, () => this.#wake())
      .catch((error) => {
        log.warn("LISTEN failed; relying on polling: {error}", { error });
        return async () => {};
      });
    await this.#unlisten;
    const workers = Array.from({ length: this.#concurrency }, () => this.#work(handler, signal));
    await Promise.all(workers);
  }

  /** Stops listening for notifications; call after every `listen()` has returned. */
  async close(): Promise<void> {
    const unlisten = await this.#unlisten;
    this.#unlisten = undefined;
    await unlisten?.();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  async #work(handler: (message: unknown) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      let claimed: { id: number; message: unknown } | undefined;
      try {
        claimed = await this.#claim();
      } catch (error) {
        if (signal?.aborted) break;
        // Every worker fails this way each poll while the database is down, and resumes by
        // itself once it is back: a warning, not an error, for an outage.
        if (isDatabaseUnavailable(error)) log.warn("Could not claim a queue message: {error}", { error });
        else log.error("Could not claim a queue message: {error}", { error });
      }
      if (claimed == null) {
        await this.#sleep(this.#pollIntervalMs, signal);
        continue;
      }
      await this.#run(claimed, handler);
    }
  }

  async #run(claimed: { id: number; message: unknown }, handler: (message: unknown) => Promise<void> | void) {
    // Renewed three times per lease, so one late renewal (a busy machine) does not lose it.
    const renew = setInterval(
      () => {
        this.#handle.db
          .update(fedifyQueue)
          .set({ lockedUntil: sql`now() + ${`${this.#leaseMs} milliseconds`}::interval` })
          .where(eq(fedifyQueue.id, claimed.id))
          .catch((error) => log.warn("Could not renew a queue lease: {error}", { error }));
      },
      Math.max(100, this.#leaseMs / 3),
    );
    try {
      await handler(claimed.message);
    } catch (error) {
      // Fedify retries failed deliveries by enqueueing them again; a throw here is a bug in a
      // handler, and retrying it forever would not fix it.
      log.error("A queue handler failed; the message is dropped: {error}", { error });
    } finally {
      clearInterval(renew);
    }
    // Deleting is retried: a message whose row outlived its handling would run twice.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#handle.db.delete(fedifyQueue).where(eq(fedifyQueue.id, claimed.id));
        return;
      } catch (error) {
        if (attempt >= 5) {
          log.error("Could not delete a handled queue message {id}: {error}", { id: claimed.id, error });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async #claim(): Promise<{ id: number; message: unknown } | undefined> {
    const earlier = alias(fedifyQueue, "earlier");
    const candidate = this.#handle.db
      .select({ id: fedifyQueue.id })
      .from(fedifyQueue)
      .where(
        and(
          lte(fedifyQueue.deliverAt, sql`now()`),
          or(isNull(fedifyQueue.lockedUntil), lte(fedifyQueue.lockedUntil, sql`now()`)),
          or(
            isNull(fedifyQueue.orderingKey),
            sql`not exists (${this.#handle.db
              .select({ one: sql`1` })
              .from(earlier)
              .where(and(eq(earlier.orderingKey, fedifyQueue.orderingKey), sql`${earlier.id} < ${fedifyQueue.id}`))})`,
          ),
        ),
      )
      .orderBy(asc(fedifyQueue.deliverAt), asc(fedifyQueue.id))
      .limit(1)
      .for("update", { skipLocked: true });
    const [row] = await this.#handle.db
      .update(fedifyQueue)
      .set({
        lockedUntil: sql`now() + ${`${this.#leaseMs} milliseconds`}::interval`,
        attempts: sql`${fedifyQueue.attempts} + 1`,
      })
      .where(inArray(fedifyQueue.id, candidate))
      .returning({ id: fedifyQueue.id, message: fedifyQueue.message });
    return row;
  }

  /** How many messages wait: due now (`ready`) and due later (`delayed`); for the metrics. */
  async depth(): Promise<{ ready: number; delayed: number }> {
    const [row] = await this.#handle.db
      .select({
        ready: sql<number>`(count(*) filter (where ${fedifyQueue.deliverAt} <= now()))::int`,
        delayed: sql<number>`(count(*) filter (where ${fedifyQueue.deliverAt} > now()))::int`,
      })
      .from(fedifyQueue);
    return { ready: Number(row?.ready ?? 0), delayed: Number(row?.delayed ?? 0) };
  }

  /** Waits for a wake-up, the next due message, or the poll interval, whichever is first. */
  async #sleep(maxMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    let ms = maxMs;
    try {
      const [next] = await this.#handle.db
        .select({ inMs: sql<number>`extract(epoch from (min(${fedifyQueue.deliverAt}) - now())) * 1000` })
        .from(fedifyQueue)
        .where(and(gt(fedifyQueue.deliverAt, sql`now()`), isNull(fedifyQueue.lockedUntil)));
      if (next?.inMs != null) ms = Math.min(ms, Math.max(10, Number(next.inMs)));
    } catch {
      // The poll interval bounds the wait anyway.
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
