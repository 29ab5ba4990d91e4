import { inArray, lte, sql } from "drizzle-orm";
import { queryRows } from "../db/client.ts";
import { rateLimits } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { RateLimitRule } from "./rate-limiter.ts";

export type { RateLimitRule } from "./rate-limiter.ts";

/**
 * Counts a hit against each rule in this process's {@link RateLimiter} and refuses when any
 * is over its limit. Synchronous: no query on the request's path. Across processes the count
 * is shared within about two sync intervals (see `RateLimiter` for the tolerance).
 * @throws {AppError} `rate_limited` with `Retry-After` (and `details.retryAfter`) set to when the
 *   longest wait ends, in seconds.
 */
export function enforceRateLimits(deps: Pick<Deps, "limits">, rules: readonly RateLimitRule[]): void {
  const { retryAfter } = deps.limits.hit(rules);
  if (retryAfter > 0) throw rateLimited(retryAfter);
}

/**
 * Like {@link enforceRateLimits}, but counts every hit in PostgreSQL at once (one upsert per
 * rule), so the limit holds exactly across processes. For the limits that guard passwords and
 * accounts (login, password change, registration): those requests hash a password anyway, so
 * the write costs little, and a guesser spread over several processes must not get extra
 * tries. A separate function rather than an option on the rule, so that the one that queries
 * is the one that is awaited.
 * @throws {AppError} `rate_limited`, as {@link enforceRateLimits}.
 */
export async function enforceStrictRateLimits(deps: Pick<Deps, "db">, rules: readonly RateLimitRule[]): Promise<void> {
  let retryAfter = 0;
  for (const rule of rules) {
    const window = `${rule.windowSeconds} seconds`;
    const [row] = await queryRows<{ hits: number; remaining: number }>(
      deps.db,
      sql`insert into ${rateLimits} (key, window_start, hits, expires_at)
          values (${rule.key}, now(), 1, now() + ${window}::interval)
          on conflict (key) do update set
            window_start = case when ${rateLimits.expiresAt} <= now() then now() else ${rateLimits.windowStart} end,
            hits = case when ${rateLimits.expiresAt} <= now() then 1 else ${rateLimits.hits} + 1 end,
            expires_at = case when ${rateLimits.expiresAt} <= now() then now() + ${window}::interval
                              else ${rateLimits.expiresAt} end
          returning hits, ceil(extract(epoch from expires_at - now()))::int as remaining`,
    );
    if (row && Number(row.hits) > rule.limit) retryAfter = Math.max(retryAfter, Number(row.remaining), 1);
  }
  if (retryAfter > 0) throw rateLimited(retryAfter);
}

function rateLimited(retryAfter: number): AppError {
  return new AppError("rate_limited", `Too many attempts; try again in ${retryAfter} seconds.`, {
    details: { retryAfter },
    headers: { "Retry-After": String(retryAfter) },
  });
}

/**
 * Deletes counters whose window has passed; returns how many. Rows another statement has
 * locked are left for the next purge: a `RateLimiter` sync locks its rows in key order, this
 * would lock them in `expires_at` order, and waiting on each other they could deadlock.
 */
export async function purgeRateLimits(deps: Pick<Deps, "db">): Promise<number> {
  const expired = deps.db
    .select({ key: rateLimits.key })
    .from(rateLimits)
    .where(lte(rateLimits.expiresAt, sql`now()`))
    .for("update", { skipLocked: true });
  const deleted = await deps.db
    .delete(rateLimits)
    .where(inArray(rateLimits.key, expired))
    .returning({ key: rateLimits.key });
  return deleted.length;
}
