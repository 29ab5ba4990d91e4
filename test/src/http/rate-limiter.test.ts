import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, type DatabaseLike, openDatabase } from "../../../src/db/client.ts";
import { rateLimits } from "../../../src/db/schema.ts";
import { AppError } from "../../../src/errors.ts";
import { enforceRateLimits, enforceStrictRateLimits, purgeRateLimits } from "../../../src/http/rate-limit.ts";
import { RateLimiter } from "../../../src/http/rate-limiter.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../../helpers/db.ts";

let database: TestDatabase;
/** A second connection to the same database, as a second process has (PGlite: the same one). */
let other: DatabaseHandle | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  if (database.url) other = await openDatabase({ url: database.url, poolSize: 2 });
});
afterAll(async () => {
  await other?.close();
  await database?.close();
});

/** The database, counting the statements sent through it; `down` makes every one fail. */
function watched(db: DatabaseLike) {
  const state = { statements: 0, down: false };
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop !== "execute") return Reflect.get(target, prop);
      return (...args: Parameters<DatabaseLike["execute"]>) => {
        state.statements++;
        if (state.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
        return target.execute(...args);
      };
    },
  });
  return Object.assign(state, { db: proxy });
}

const stored = async (key: string) => (await database.db.select().from(rateLimits).where(eq(rateLimits.key, key)))[0];

/** `n` hits; how many were allowed. */
const allowedOf = (limiter: RateLimiter, rule: Parameters<RateLimiter["hit"]>[0][number], n: number) =>
  Array.from({ length: n }, () => limiter.hit([rule])).filter((d) => d.allowed).length;

describe(`RateLimiter on ${testDatabaseKind}`, () => {
  it("holds the limit in one process with no statement per hit; one sync writes every key at once", async () => {
    const db = watched(database.db);
    const limiter = new RateLimiter(db.db);
    const rule = { key: "one:send", limit: 3, windowSeconds: 60 };
    for (let i = 0; i < 3; i++) expect(limiter.hit([rule])).toEqual({ allowed: true, retryAfter: 0 });
    expect(limiter.hit([rule])).toEqual({ allowed: false, retryAfter: 60 });
    expect(limiter.hit([{ key: "one:other", limit: 3, windowSeconds: 60 }]).allowed).toBe(true);
    expect(db.statements).toBe(0);

    expect(await limiter.sync()).toBe(true);
    expect(db.statements).toBe(1);
    // Refused hits count too, as they did when every hit was written.
    expect((await stored("one:send"))?.hits).toBe(4);
    expect((await stored("one:other"))?.hits).toBe(1);
    // Nothing new since: the statement only reads, and the limit still holds.
    expect(await limiter.sync()).toBe(true);
    expect((await stored("one:send"))?.hits).toBe(4);
    expect(limiter.hit([rule]).allowed).toBe(false);
  });

  it("refuses through enforceRateLimits with rate_limited and Retry-After, the longest wait of the rules", () => {
    const limits = new RateLimiter(database.db);
    const short = { key: "enforce:short", limit: 1, windowSeconds: 10 };
    const long = { key: "enforce:long", limit: 1, windowSeconds: 300 };
    enforceRateLimits({ limits }, [short, long]);
    let error: unknown;
    try {
      enforceRateLimits({ limits }, [short, long]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: "rate_limited",
      details: { retryAfter: 300 },
      headers: { "Retry-After": "300" },
    });
  });

  it("shares one budget between two processes within the stated tolerance", async () => {
    const a = new RateLimiter(database.db);
    const b = new RateLimiter(other?.db ?? database.db);
    const limit = 20;
    const perInterval = 3;
    const rule = { key: "two:send", limit, windowSeconds: 60 };
    // Each process takes `perInterval` hits per sync interval, then both sync in turn.
    let allowed = 0;
    for (let round = 0; round < 10; round++) {
      allowed += allowedOf(a, rule, perInterval) + allowedOf(b, rule, perInterval);
      await a.sync();
      await b.sync();
    }
    // Never fewer than the limit; more by at most what P = 2 processes admit in two intervals.
    expect(allowed).toBeGreaterThanOrEqual(limit);
    expect(allowed).toBeLessThanOrEqual(limit + 2 * 2 * perInterval);
    expect(a.hit([rule]).allowed).toBe(false);
    expect(b.hit([rule]).allowed).toBe(false);
    expect((await stored("two:send"))?.hits).toBe(10 * 2 * perInterval);
  });

  it("refuses in each process once the other has used the budget and both have synced", async () => {
    for (const [first, second] of [
      ["a", "b"],
      ["b", "a"],
    ] as const) {
      const limiters = { a: new RateLimiter(database.db), b: new RateLimiter(other?.db ?? database.db) };
      const rule = { key: `used:${first}`, limit: 5, windowSeconds: 60 };
      // The idle process has seen the key once, so it holds it and learns its total at each sync.
      expect(limiters[first].hit([rule]).allowed).toBe(true);
      await limiters[first].sync();
      expect(allowedOf(limiters[second], rule, 4)).toBe(4);
      await limiters[second].sync();
      await limiters[first].sync();
      expect(limiters[first].hit([rule])).toMatchObject({ allowed: false });
      expect(limiters[first].hit([rule]).retryAfter).toBeGreaterThanOrEqual(59);
      expect(limiters[second].hit([rule]).allowed).toBe(false);
    }
  });

  it("lets two processes sync overlapping keys at the same moment", async () => {
    const a = new RateLimiter(database.db);
    const b = new RateLimiter(other?.db ?? database.db);
    const keys = Array.from({ length: 200 }, (_, i) => `overlap:${i}`);
    for (let round = 0; round < 5; round++) {
      // Opposite orders in memory: the statement writes in key order, so the row locks do not cross.
      for (const key of keys) a.hit([{ key, limit: 100, windowSeconds: 60 }]);
      for (const key of keys.toReversed()) b.hit([{ key, limit: 100, windowSeconds: 60 }]);
      expect(await Promise.all([a.sync(), b.sync()])).toEqual([true, true]);
    }
    expect((await stored("overlap:0"))?.hits).toBe(10);
    expect((await stored("overlap:199"))?.hits).toBe(10);
  });

  it("tells the seconds left in the window, and starts a new window once it ends", async () => {
    const limiter = new RateLimiter(database.db);
    const rule = { key: "reset:send", limit: 1, windowSeconds: 2 };
    expect(limiter.hit([rule]).allowed).toBe(true);
    expect(limiter.hit([rule])).toEqual({ allowed: false, retryAfter: 2 });
    await limiter.sync();
    await sleep(1100);
    expect(limiter.hit([rule])).toEqual({ allowed: false, retryAfter: 1 });
    await sleep(1000);
    expect(limiter.hit([rule]).allowed).toBe(true);
    expect(limiter.hit([rule]).allowed).toBe(false);
    // The database's window restarts too, holding only the new window's hits.
    await limiter.sync();
    expect((await stored("reset:send"))?.hits).toBe(2);
  });

  it("forgets windows that have ended, with no statement for them", async () => {
    const db = watched(database.db);
    const limiter = new RateLimiter(db.db);
    for (let i = 0; i < 50; i++) limiter.hit([{ key: `forget:${i}`, limit: 5, windowSeconds: 1 }]);
    expect(limiter.size).toBe(50);
    await sleep(1100);
    expect(await limiter.sync()).toBe(true);
    expect(limiter.size).toBe(0);
    expect(db.statements).toBe(0);
  });

  it("keeps deciding while syncs fail, and writes the hits it kept once the database answers", async () => {
    const db = watched(database.db);
    const limiter = new RateLimiter(db.db, { syncIntervalMs: 20 });
    const rule = { key: "down:send", limit: 3, windowSeconds: 60 };
    expect(allowedOf(limiter, rule, 2)).toBe(2);
    db.down = true;
    expect(await limiter.sync()).toBe(false);
    // The loop keeps failing in the background without an unhandled rejection.
    limiter.start();
    await sleep(100);
    expect(db.statements).toBeGreaterThan(2);
    expect(limiter.hit([rule]).allowed).toBe(true);
    expect(limiter.hit([rule]).allowed).toBe(false);
    await limiter.stop();
    expect(await stored("down:send")).toBeUndefined();
    db.down = false;
    expect(await limiter.sync()).toBe(true);
    expect((await stored("down:send"))?.hits).toBe(4);
  });

  it("flushes on stop what the loop has not written yet", async () => {
    const limiter = new RateLimiter(database.db, { syncIntervalMs: 60_000 });
    limiter.start();
    limiter.hit([{ key: "stop:send", limit: 5, windowSeconds: 60 }]);
    await limiter.stop();
    expect((await stored("stop:send"))?.hits).toBe(1);
  });
});

describe(`strict rate limits on ${testDatabaseKind}`, () => {
  it("count each hit in the database, so the limit is exact across processes", async () => {
    const rule = { key: "strict:login", limit: 2, windowSeconds: 300 };
    await enforceStrictRateLimits({ db: database.db }, [rule]);
    await enforceStrictRateLimits({ db: other?.db ?? database.db }, [rule]);
    const refused = await enforceStrictRateLimits({ db: database.db }, [rule]).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "rate_limited", details: { retryAfter: 300 } });
  });
});

describe(`the purge of rate-limit counters on ${testDatabaseKind}`, () => {
  it("deletes the windows that have ended and keeps the live ones", async () => {
    const limiter = new RateLimiter(database.db);
    limiter.hit([{ key: "purge:ended", limit: 5, windowSeconds: 1 }]);
    limiter.hit([{ key: "purge:live", limit: 5, windowSeconds: 60 }]);
    await limiter.sync();
    await sleep(1100);
    expect(await purgeRateLimits({ db: database.db })).toBeGreaterThanOrEqual(1);
    expect(await stored("purge:ended")).toBeUndefined();
    expect((await stored("purge:live"))?.hits).toBe(1);
  });
});
