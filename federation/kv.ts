import type { KvKey, KvStore, KvStoreListEntry, KvStoreSetOptions } from "@fedify/fedify";
import { and, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import type { DatabaseLike } from "../src/db/client.ts";
import { fedifyKv } from "../src/db/schema.ts";

/**
 * Values go in as JSON text cast to jsonb and come out as text parsed here: drizzle's jsonb
 * mapping turns `null` into SQL NULL and parses strings that look like JSON, which would
 * change what Fedify stored.
 */
const jsonb = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
const valueText = sql<string>`${fedifyKv.value}::text`;

/** Rows that have not expired. */
const live = () => or(isNull(fedifyKv.expiresAt), gt(fedifyKv.expiresAt, sql`now()`));

/**
 * How long processed activity ids are remembered: Fedify asks for a day; we keep them a week,
 * so a peer retrying for days cannot make us apply an activity twice.
 */
export const processedActivityTtlMs = 7 * 24 * 60 * 60 * 1000;

function expiresAt(options: KvStoreSetOptions | undefined, key: KvKey): Date | null {
  if (options?.ttl == null) return null;
  let ms = options.ttl.total({ unit: "milliseconds" });
  if (key[0] === "_fedify" && key[1] === "activityIdempotence") ms = Math.max(ms, processedActivityTtlMs);
  return new Date(Date.now() + ms);
}

/**
 * Fedify's key–value store on PostgreSQL (either driver). Values are JSON; a TTL becomes an
 * `expires_at` that reads ignore and {@link PostgresKvStore.purgeExpired} deletes.
 */
export class PostgresKvStore implements KvStore {
  readonly #db: DatabaseLike;

  constructor(db: DatabaseLike) {
    this.#db = db;
  }

  async get<T = unknown>(key: KvKey): Promise<T | undefined> {
    const [row] = await this.#db
      .select({ value: valueText })
      .from(fedifyKv)
      .where(and(eq(fedifyKv.key, [...key]), live()));
    return row == null ? undefined : (JSON.parse(row.value) as T);
  }

  async set(key: KvKey, value: unknown, options?: KvStoreSetOptions): Promise<void> {
    if (value === undefined) throw new TypeError("A KvStore value cannot be undefined.");
    const row = { key: [...key], value: jsonb(value), expiresAt: expiresAt(options, key) };
    await this.#db
      .insert(fedifyKv)
      .values(row)
      .onConflictDoUpdate({ target: fedifyKv.key, set: { value: row.value, expiresAt: row.expiresAt } });
  }

  async delete(key: KvKey): Promise<void> {
    await this.#db.delete(fedifyKv).where(eq(fedifyKv.key, [...key]));
  }

  /**
   * Sets `key` to `newValue` only if it now holds `expectedValue` (`undefined`: absent or
   * expired). One statement either way, so concurrent callers cannot both win.
   */
  async cas(key: KvKey, expectedValue: unknown, newValue: unknown, options?: KvStoreSetOptions): Promise<boolean> {
    const k = [...key];
    const expires = expiresAt(options, key);
    if (newValue === undefined) {
      if (expectedValue === undefined) return (await this.get(key)) === undefined;
      const deleted = await this.#db
        .delete(fedifyKv)
        .where(and(eq(fedifyKv.key, k), live(), sql`${fedifyKv.value} = ${jsonb(expectedValue)}`))
        .returning({ key: fedifyKv.key });
      return deleted.length > 0;
    }
    if (expectedValue === undefined) {
      // Insert, or take over a row that has expired; a live row makes this a no-op.
      const inserted = await this.#db
        .insert(fedifyKv)
        .values({ key: k, value: jsonb(newValue), expiresAt: expires })
        .onConflictDoUpdate({
          target: fedifyKv.key,
          set: { value: jsonb(newValue), expiresAt: expires },
          setWhere: and(sql`${fedifyKv.expiresAt} is not null`, lte(fedifyKv.expiresAt, sql`now()`)),
        })
        .returning({ key: fedifyKv.key });
      return inserted.length > 0;
    }
    const updated = await this.#db
      .update(fedifyKv)
      .set({ value: jsonb(newValue), expiresAt: expires })
      .where(and(eq(fedifyKv.key, k), live(), sql`${fedifyKv.value} = ${jsonb(expectedValue)}`))
      .returning({ key: fedifyKv.key });
    return updated.length > 0;
  }

  async *list(prefix?: KvKey): AsyncIterable<KvStoreListEntry> {
    const p = prefix == null ? [] : [...prefix];
    const condition =
      p.length === 0
        ? live()
        : and(
            live(),
            sql`${fedifyKv.key}[1:${p.length}] = ${sql`array[${sql.join(
              p.map((part) => sql`${part}::text`),
              sql`, `,
            )}]`}`,
          );
    const rows = await this.#db
      .select({ key: fedifyKv.key, value: valueText })
      .from(fedifyKv)
      .where(condition)
      .orderBy(fedifyKv.key);
    for (const row of rows) yield { key: row.key as unknown as KvKey, value: JSON.parse(row.value) };
  }

  /** Deletes expired entries in one statement; returns how many. */
  async purgeExpired(): Promise<number> {
    const deleted = await this.#db
      .delete(fedifyKv)
      .where(and(sql`${fedifyKv.expiresAt} is not null`, lte(fedifyKv.expiresAt, sql`now()`)))
      .returning({ key: fedifyKv.key });
    return deleted.length;
  }
}
