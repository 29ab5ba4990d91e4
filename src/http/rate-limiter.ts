import { sql } from "drizzle-orm";
import { type DatabaseLike, queryRows } from "../db/client.ts";
import { logger } from "../log.ts";

/** One limit: at most `limit` hits per `windowSeconds` for `key`. */
export interface RateLimitRule {
  readonly key: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

/** What {@link RateLimiter.hit} decided. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused, whole seconds (at least 1) until the longest refusing window ends; else 0. */
  readonly retryAfter: number;
}

/** One key's current window, as this process knows it. */
interface Window {
  readonly windowSeconds: number;
  /** When the window ends, on this process's clock (ms since the epoch). */
  expiresAt: number;
  /** The database's total at the last sync: every process's hits, this one's included. */
  shared: number;
  /** Hits counted here since the last sync began. */
  pending: number;
  /** Hits in the statement on its way to the database. */
  sending: number;
}

const log = logger("rate-limit");

/** How often a started limiter syncs with the database, unless told otherwise. */
export const defaultSyncIntervalMs = 1000;

/**
 * Fixed-window rate limits counted in memory and shared through the `rate_limits` table.
 *
 * `hit()` decides at once, with no query: it counts the hit here and compares this process's
 * own hits plus the last total the database reported with the limit. A window starts at a
 * key's first hit and ends `windowSeconds` later; then the count starts again. Every sync
 * interval (1 s by default) one statement adds this process's new hits for every live key to
 * the table and reads back the totals, which include the other processes' hits.
 *
 * Tolerance: one process alone is exact. With several, a hit is written at its process's next
 * sync and read by the others at theirs, so each process learns the others' hits within about
 * two sync intervals; with P processes a key may pass its limit by about P x (the hits one
 * process admits for it in two intervals), and a process that has not yet seen a key admits
 * up to that many before its first sync. While the database is unreachable syncs fail (logged
 * at warning, never thrown into a request), each process keeps counting alone with the last
 * totals it has, and its unsent hits are written once a sync succeeds again.
 *
 * Memory: a key is kept only while its window lasts. Limits that guard passwords do not use
 * this class: see `enforceStrictRateLimits`, which counts each hit in the database.
 */
export class RateLimiter {
  readonly #db: DatabaseLike;
  readonly #syncIntervalMs: number;
  readonly #windows = new Map<string, Window>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The sync under way (or queued behind one), so that two never overlap. */
  #syncing: Promise<boolean> | undefined;
  #lastSweep = Date.now();
  #failing = false;

  /**
   * @param db The database every process shares (the pool, not a transaction).
   * @param options `syncIntervalMs` between syncs once started (tests shorten it).
   */
  constructor(db: DatabaseLike, options: { syncIntervalMs?: number } = {}) {
    this.#db = db;
    this.#syncIntervalMs = options.syncIntervalMs ?? defaultSyncIntervalMs;
  }

  /** How many keys are held in memory (those whose window has not ended). */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Counts a hit against each rule and decides, synchronously and without a query. Every hit
   * counts, refused or not, as before: a client that keeps knocking stays refused until the
   * window ends, and a hit one rule refuses still counts against the others.
   */
  hit(rules: readonly RateLimitRule[]): RateLimitDecision {
    const now = Date.now();
    if (now - this.#lastSweep >= this.#syncIntervalMs) this.#sweep(now);
    let retryAfter = 0;
    for (const rule of rules) {
      let window = this.#windows.get(rule.key);
      if (window == null || window.expiresAt <= now) {
        window = {
          windowSeconds: rule.windowSeconds,
          expiresAt: now + rule.windowSeconds * 1000,
          shared: 0,
          pending: 0,
          sending: 0,
        };
        this.#windows.set(rule.key, window);
      }
      window.pending++;
      if (window.shared + window.sending + window.pending > rule.limit) {
        retryAfter = Math.max(retryAfter, Math.ceil((window.expiresAt - now) / 1000), 1);
      }
    }
    return { allowed: retryAfter === 0, retryAfter };
  }

  /** Starts syncing every interval. A limiter never started still counts, for this process only. */
  start(): void {
    if (this.#timer != null) return;
    this.#timer = setInterval(() => {
      if (this.#syncing == null) void this.sync();
    }, this.#syncIntervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Stops the interval and writes what is still unsent (a failure is logged, not thrown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.sync();
  }

  /**
   * Writes the hits counted since the last sync and reads back the shared totals, for every
   * live key, in one statement; after any sync already under way. Issues no statement when
   * no window is live. Never rejects.
   * @returns Whether the database answered.
   */
  sync(): Promise<boolean> {
    const run = (this.#syncing ?? Promise.resolve(true)).then(() => this.#syncOnce());
    this.#syncing = run;
    void run.then(() => {
      if (this.#syncing === run) this.#syncing = undefined;
    });
    return run;
  }

  async #syncOnce(): Promise<boolean> {
    this.#sweep(Date.now());
    if (this.#windows.size === 0) return true;
    const batch = [...this.#windows];
    const deltas = batch.map(([key, window]) => {
      window.sending = window.pending;
      window.pending = 0;
      return { key, hits: window.sending, window_seconds: window.windowSeconds };
    });
    let rows: { key: string; hits: number; remaining_ms: number }[];
    try {
      rows = await queryRows(this.#db, syncStatement(deltas));
    } catch (error) {
      // Kept for the next sync. Were the statement applied and only its answer lost, these
      // hits count twice: stricter, never looser.
      for (const [, window] of batch) {
        window.pending += window.sending;
        window.sending = 0;
      }
      if (!this.#failing) {
        log.warn("Syncing rate limits failed; counting in this process alone until it works: {error}", { error });
      }
      this.#failing = true;
      return false;
    }
    if (this.#failing) log.info("Syncing rate limits works again.");
    this.#failing = false;
    const now = Date.now();
    const totals = new Map(rows.map((row) => [row.key, row]));
    for (const [key, window] of batch) {
      window.sending = 0;
      // A window that ended while the statement ran has been replaced: its answer is stale.
      if (this.#windows.get(key) !== window) continue;
      const row = totals.get(key);
      if (row == null) {
        // Only keys with nothing to send can be missing: the database's window has ended.
        window.shared = 0;
        if (window.pending === 0) this.#windows.delete(key);
        continue;
      }
      // The database's clock decides when a shared window ends; the time left carries it
      // over to this process's clock.
      window.shared = Number(row.hits);
      window.expiresAt = now + Number(row.remaining_ms);
    }
    return true;
  }

  /** Drops the windows that have ended. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) {
      if (window.expiresAt <= now) this.#windows.delete(key);
    }
  }
}

/**
 * Adds each key's new hits to its window, starting a window where none is live (the same
 * fixed windows as `enforceStrictRateLimits`), and returns every live key's total with the
 * milliseconds left. Keys with no new hits are only read, so a window never starts without a
 * hit. Rows are written in key order so that two processes syncing overlapping keys at once
 * take the row locks in the same order and cannot deadlock.
 */
function syncStatement(deltas: readonly { key: string; hits: number; window_seconds: number }[]) {
  return sql`with d as (
      select * from jsonb_to_recordset(${JSON.stringify(deltas)}::jsonb) as d(key text, hits int, window_seconds int)
    ), written as (
      insert into rate_limits as r (key, window_start, hits, expires_at)
      select key, now(), hits, now() + make_interval(secs => window_seconds) from d where hits > 0 order by key
      on conflict (key) do update set
        window_start = case when r.expires_at <= now() then now() else r.window_start end,
        hits = case when r.expires_at <= now() then excluded.hits else r.hits + excluded.hits end,
        expires_at = case when r.expires_at <= now() then excluded.expires_at else r.expires_at end
      returning r.key, r.hits, r.expires_at
    )
    select key, hits, ceil(extract(epoch from expires_at - now()) * 1000)::int as remaining_ms from written
    union all
    select r.key, r.hits, ceil(extract(epoch from r.expires_at - now()) * 1000)::int
      from rate_limits r join d on d.key = r.key
      where d.hits = 0 and r.expires_at > now()`;
}
