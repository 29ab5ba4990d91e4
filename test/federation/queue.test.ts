import { testMessageQueue } from "@fedify/testing";
import { Temporal } from "@js-temporal/polyfill";
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresMessageQueue } from "../../federation/queue.ts";
import { fedifyQueue } from "../../src/db/schema.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../helpers/db.ts";

let database: TestDatabase;
const running: { controller: AbortController; done: Promise<void>; queue: PostgresMessageQueue }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.controller.abort();
    await r.done;
    await r.queue.close();
  }
  await database.db.delete(fedifyQueue);
});
afterAll(async () => database.close());

function queue(options: ConstructorParameters<typeof PostgresMessageQueue>[1] = {}) {
  return new PostgresMessageQueue(database, { pollIntervalMs: 100, ...options });
}

/** Starts a listener that is stopped after the test. */
function listen(q: PostgresMessageQueue, handler: (message: unknown) => Promise<void> | void) {
  const controller = new AbortController();
  const done = q.listen(handler, { signal: controller.signal });
  running.push({ controller, done, queue: q });
  return controller;
}

async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`PostgresMessageQueue on ${testDatabaseKind}`, () => {
  it("passes Fedify's message queue conformance tests, ordering keys included", async () => {
    await testMessageQueue(
      () => queue(),
      async ({ mq1, mq2, controller }) => {
        controller.abort();
        await mq1.close();
        await mq2.close();
      },
      { testOrderingKey: true },
    );
  }, 90_000);

  it("keeps messages that nobody was listening for", async () => {
    await queue().enqueueMany(["one", "two", { three: 3 }]);
    const received: unknown[] = [];
    listen(queue(), (m) => {
      received.push(m);
    });
    await until(() => received.length === 3);
    expect(received).toEqual(expect.arrayContaining(["one", "two", { three: 3 }]));
    // Each row goes once its handler has returned, which is just after it was counted above.
    await until(async () => (await database.db.select().from(fedifyQueue)).length === 0);
  });

  it("hands a message whose worker died to another worker once the lease runs out", async () => {
    await queue().enqueue("orphan");
    // A worker claimed it and then died: the lease is still running.
    await database.db.update(fedifyQueue).set({ lockedUntil: sql`now() + interval '1 hour'`, attempts: 1 });
    const received: unknown[] = [];
    listen(queue(), (m) => {
      received.push(m);
    });
    await sleep(400);
    expect(received).toEqual([]);
    // The lease runs out.
    await database.db.update(fedifyQueue).set({ lockedUntil: sql`now() - interval '1 second'` });
    await until(() => received.length === 1);
    expect(received).toEqual(["orphan"]);
  });

  it("renews the lease of a slow handler so no other worker takes its message", async () => {
    const handled: string[] = [];
    const slow = async (m: unknown) => {
      await sleep(2500);
      handled.push(String(m));
    };
    listen(queue({ leaseMs: 1000 }), slow);
    listen(queue({ leaseMs: 1000 }), slow);
    await queue().enqueue("slow");
    await until(() => handled.length >= 1);
    await sleep(1500);
    expect(handled).toEqual(["slow"]);
  });

  it("holds a later message behind a delayed earlier one with the same ordering key", async () => {
    const received: string[] = [];
    listen(queue({ concurrency: 4 }), (m) => {
      received.push(String(m));
    });
    const q = queue();
    await q.enqueue("first", { orderingKey: "room-1", delay: Temporal.Duration.from({ milliseconds: 800 }) });
    await q.enqueue("second", { orderingKey: "room-1" });
    await q.enqueue("unrelated", { orderingKey: "room-2" });
    await until(() => received.length === 3);
    expect(received.indexOf("first")).toBeLessThan(received.indexOf("second"));
    expect(received[0]).toBe("unrelated");
  });

  it("runs messages of one ordering key one at a time", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const order: number[] = [];
    const handler = async (m: unknown) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(30);
      order.push(m as number);
      inFlight--;
    };
    listen(queue({ concurrency: 4 }), handler);
    listen(queue({ concurrency: 4 }), handler);
    const q = queue();
    for (let i = 0; i < 10; i++) await q.enqueue(i, { orderingKey: "k" });
    await until(() => order.length === 10);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(maxInFlight).toBe(1);
  });

  it("drops a message whose handler throws and goes on with the rest", async () => {
    const received: string[] = [];
    listen(queue(), (m) => {
      if (m === "bad") throw new Error("handler bug");
      received.push(String(m));
    });
    const q = queue();
    await q.enqueue("bad");
    await q.enqueue("good");
    await until(() => received.length === 1);
    await sleep(300);
    expect(received).toEqual(["good"]);
    expect(await database.db.select().from(fedifyQueue)).toHaveLength(0);
  });

  it("refuses a negative delay", async () => {
    await expect(queue().enqueue("x", { delay: Temporal.Duration.from({ seconds: -1 }) })).rejects.toThrow(RangeError);
    expect(await database.db.select().from(fedifyQueue)).toHaveLength(0);
  });

  it("reports its depth, ready and delayed apart", async () => {
    const q = queue();
    await q.enqueueMany(["a", "b"]);
    await q.enqueue("later", { delay: Temporal.Duration.from({ hours: 1 }) });
    expect(await q.getDepth()).toEqual({ queued: 3, ready: 2, delayed: 1 });
  });

  it("returns from listen() at once when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await queue().listen(() => {}, { signal: controller.signal });
  });
});
