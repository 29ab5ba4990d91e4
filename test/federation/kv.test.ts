import { Temporal } from "@js-temporal/polyfill";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PostgresKvStore } from "../../federation/kv.ts";
import { fedifyKv } from "../../src/db/schema.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../helpers/db.ts";

let database: TestDatabase;
let kv: PostgresKvStore;

beforeAll(async () => {
  database = await createTestDatabase();
  kv = new PostgresKvStore(database.db);
});
afterAll(async () => database.close());
beforeEach(async () => {
  await database.db.delete(fedifyKv);
});

/** Makes an entry look expired without waiting for it. */
async function expireNow(key: string[]) {
  await database.db.execute(
    sql`update fedify_kv set expires_at = now() - interval '1 second' where key = ${`{${key.join(",")}}`}::text[]`,
  );
}

describe(`PostgresKvStore on ${testDatabaseKind}`, () => {
  it("stores, reads, overwrites and deletes JSON values", async () => {
    expect(await kv.get(["a"])).toBeUndefined();
    await kv.set(["a"], { n: 1, list: [1, "two", null], nested: { ok: true } });
    expect(await kv.get(["a"])).toEqual({ n: 1, list: [1, "two", null], nested: { ok: true } });
    await kv.set(["a"], "replaced");
    expect(await kv.get(["a"])).toBe("replaced");
    await kv.set(["n"], 42);
    await kv.set(["f"], false);
    await kv.set(["z"], null);
    expect(await kv.get(["n"])).toBe(42);
    expect(await kv.get(["f"])).toBe(false);
    expect(await kv.get(["z"])).toBeNull();
    await kv.delete(["a"]);
    expect(await kv.get(["a"])).toBeUndefined();
    await kv.delete(["never-there"]);
  });

  it("keeps keys with several parts apart", async () => {
    await kv.set(["x", "y"], 1);
    await kv.set(["x", "y", "z"], 2);
    await kv.set(["x,y"], 3);
    expect(await kv.get(["x", "y"])).toBe(1);
    expect(await kv.get(["x", "y", "z"])).toBe(2);
    expect(await kv.get(["x,y"])).toBe(3);
    expect(await kv.get(["x"])).toBeUndefined();
  });

  it("stores strings that look like JSON as strings", async () => {
    await kv.set(["s"], '{"not":"an object"}');
    expect(await kv.get(["s"])).toBe('{"not":"an object"}');
  });

  it("hides expired entries and purges them", async () => {
    await kv.set(["t"], "soon gone", { ttl: Temporal.Duration.from({ hours: 1 }) });
    await kv.set(["keep"], "stays");
    expect(await kv.get(["t"])).toBe("soon gone");
    await expireNow(["t"]);
    expect(await kv.get(["t"])).toBeUndefined();
    expect(await kv.purgeExpired()).toBe(1);
    expect(await kv.get(["keep"])).toBe("stays");
  });

  it("expires an entry after its TTL", async () => {
    await kv.set(["short"], 1, { ttl: Temporal.Duration.from({ milliseconds: 300 }) });
    expect(await kv.get(["short"])).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(await kv.get(["short"])).toBeUndefined();
  });

  it("compares and swaps", async () => {
    expect(await kv.cas(["c"], undefined, 1)).toBe(true);
    expect(await kv.cas(["c"], undefined, 2)).toBe(false);
    expect(await kv.get(["c"])).toBe(1);
    expect(await kv.cas(["c"], 2, 3)).toBe(false);
    expect(await kv.cas(["c"], 1, { v: 3 })).toBe(true);
    expect(await kv.cas(["c"], { v: 3 }, { v: 4 })).toBe(true);
    expect(await kv.get(["c"])).toEqual({ v: 4 });
    expect(await kv.cas(["c"], { v: 4 }, undefined)).toBe(true);
    expect(await kv.get(["c"])).toBeUndefined();
  });

  it("treats an expired entry as absent for compare-and-swap", async () => {
    await kv.set(["e"], "old", { ttl: Temporal.Duration.from({ hours: 1 }) });
    await expireNow(["e"]);
    expect(await kv.cas(["e"], "old", "new")).toBe(false);
    expect(await kv.cas(["e"], undefined, "new")).toBe(true);
    expect(await kv.get(["e"])).toBe("new");
  });

  it("lets exactly one of many concurrent compare-and-swaps win", async () => {
    await kv.set(["counter"], 0);
    const results = await Promise.all(Array.from({ length: 10 }, () => kv.cas(["counter"], 0, 1)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const inserts = await Promise.all(Array.from({ length: 10 }, (_, i) => kv.cas(["fresh"], undefined, i)));
    expect(inserts.filter(Boolean)).toHaveLength(1);
  });

  it("lists entries by prefix, skipping expired ones", async () => {
    await kv.set(["p", "1"], "one");
    await kv.set(["p", "2"], "two");
    await kv.set(["p", "2", "deep"], "deep");
    await kv.set(["q", "1"], "other");
    await kv.set(["p", "3"], "gone", { ttl: Temporal.Duration.from({ hours: 1 }) });
    await expireNow(["p", "3"]);
    const listed = [];
    for await (const entry of kv.list(["p"])) listed.push(entry);
    expect(listed).toEqual([
      { key: ["p", "1"], value: "one" },
      { key: ["p", "2"], value: "two" },
      { key: ["p", "2", "deep"], value: "deep" },
    ]);
    const all = [];
    for await (const entry of kv.list()) all.push(entry.key.join("/"));
    expect(all.sort()).toEqual(["p/1", "p/2", "p/2/deep", "q/1"]);
    const exact = [];
    for await (const entry of kv.list(["p", "2"])) exact.push(entry.key.join("/"));
    expect(exact).toEqual(["p/2", "p/2/deep"]);
  });

  it("keeps entries across a reopened store on the same database", async () => {
    await kv.set(["durable"], { ok: 1 });
    const again = new PostgresKvStore(database.db);
    expect(await again.get(["durable"])).toEqual({ ok: 1 });
  });
});
