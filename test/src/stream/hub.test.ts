/**
 * The hub across a LISTEN that goes down and comes back: events committed while nobody was
 * listening are delivered once the LISTEN is back (`onListen`) or by the periodic pull, and
 * nothing is delivered twice. The LISTEN is cut by a wrapper around the test database, which
 * drops notifications while it is down and, when brought back, calls `onListen` as postgres.js
 * does after reconnecting.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../../src/db/client.ts";
import { actors } from "../../../src/db/schema.ts";
import type { Deps } from "../../../src/deps.ts";
import { SendContextCache } from "../../../src/messages/send-context.ts";
import { Metrics } from "../../../src/metrics.ts";
import { appendEvents } from "../../../src/stream/events.ts";
import { Hub, type StreamSink } from "../../../src/stream/hub.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";

/** A database handle whose LISTEN can be cut and restored. */
function cuttable(database: TestDatabase) {
  let down = false;
  const reconnected: (() => void)[] = [];
  const handle: DatabaseHandle = {
    db: database.db,
    driver: database.driver,
    withAdvisoryLock: (key, fn) => database.withAdvisoryLock(key, fn),
    close: async () => {},
    async listen(channel, onNotify, onListen) {
      if (onListen) reconnected.push(onListen);
      return await database.listen(
        channel,
        (payload) => {
          if (!down) onNotify(payload);
        },
        onListen,
      );
    },
  };
  return {
    handle,
    /** From now on notifications are lost, as while the LISTEN connection is down. */
    cut() {
      down = true;
    },
    /** The LISTEN is back: notifications arrive again and `onListen` runs. */
    restore() {
      down = false;
      for (const onListen of reconnected) onListen();
    },
  };
}

interface Received {
  type: string;
  position: number;
  data: { n?: number };
}

/** A sink that records what it receives. */
function recorder() {
  const frames: Received[] = [];
  const sink: StreamSink = {
    send(text) {
      frames.push(JSON.parse(text) as Received);
      return true;
    },
    close() {},
  };
  return { frames, sink };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the hub when its LISTEN drops", () => {
  let database: TestDatabase;
  let hub: Hub | undefined;
  let actorId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database.close());
  beforeEach(async () => {
    // Each test's events are addressed to an actor of its own, so the others' do not reach it.
    actorId = randomUUID();
    // Presence rows refer to an actor.
    await database.db.insert(actors).values({ id: actorId, iri: `https://remote.example/users/${actorId}` });
  });
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  /** Appends `count` events addressed to the test's actor, numbered from `from`. */
  async function append(from: number, count = 1): Promise<void> {
    await database.db.transaction(async (tx) => {
      await appendEvents(
        tx,
        Array.from({ length: count }, (_, i) => ({ type: "notification" as const, actorId, data: { n: from + i } })),
      );
    });
  }

  async function start(pullIntervalMs: number) {
    const listen = cuttable(database);
    hub = new Hub(
      { db: database.db, metrics: new Metrics(), sendContexts: new SendContextCache() } as unknown as Deps,
      listen.handle,
      { pullIntervalMs },
    );
    await hub.start();
    const { frames, sink } = recorder();
    await hub.connect({ actorId, sessionId: randomUUID() }, sink);
    expect(frames.map((f) => f.type)).toEqual(["ready"]);
    return { listen, frames };
  }

  const numbers = (frames: Received[]) => frames.filter((f) => f.type === "notification").map((f) => f.data.n);

  it("delivers what was committed while it was down as soon as it is back, once", async () => {
    // No periodic pull within the test: only the reconnection can bring the events.
    const { listen, frames } = await start(3_600_000);
    listen.cut();
    await append(1, 3);
    await sleep(300);
    expect(numbers(frames), "nothing can arrive while the LISTEN is down").toEqual([]);

    listen.restore();
    await until("the missed events", () => numbers(frames).length >= 3);
    // Live again: the next event comes by its notification.
    await append(4);
    await until("the live event", () => numbers(frames).length >= 4);
    await sleep(200);
    expect(numbers(frames)).toEqual([1, 2, 3, 4]);
    const positions = frames.slice(1).map((f) => f.position);
    expect(new Set(positions).size).toBe(positions.length);
  });

  it("reads the log on a timer when no notification and no reconnection comes", async () => {
    const { listen, frames } = await start(200);
    listen.cut();
    await append(1, 2);
    await until("the events, by the periodic pull", () => numbers(frames).length >= 2);
    expect(numbers(frames)).toEqual([1, 2]);
  });

  it("delivers each event once when notifications, reconnections and the timer all fire", async () => {
    const { listen, frames } = await start(30);
    for (let round = 0; round < 5; round++) {
      await append(round * 4 + 1, 4);
      listen.restore();
      listen.restore();
    }
    await until("every event", () => numbers(frames).length >= 20);
    await sleep(300);
    expect(numbers(frames)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("writes one round's frames to a connection a few at a time between cork and uncork", async () => {
    const listen = cuttable(database);
    hub = new Hub(
      { db: database.db, metrics: new Metrics(), sendContexts: new SendContextCache() } as unknown as Deps,
      listen.handle,
      {
        pullIntervalMs: 3_600_000,
      },
    );
    await hub.start();
    const calls: string[] = [];
    const sink: StreamSink = {
      send(text) {
        if ((JSON.parse(text) as Received).type === "notification") calls.push("send");
        return true;
      },
      close() {},
      cork: () => calls.push("cork"),
      uncork: () => calls.push("uncork"),
    };
    await hub.connect({ actorId, sessionId: randomUUID() }, sink);
    calls.splice(0);
    // Missed while the LISTEN is down, so one read after it is back brings all 40.
    listen.cut();
    await append(1, 40);
    listen.restore();
    await until("the 40 events", () => calls.filter((c) => c === "send").length >= 40);
    await until("the last uncork", () => calls.at(-1) === "uncork");
    const group = (n: number) => ["cork", ...Array.from({ length: n }, () => "send"), "uncork"];
    // Before, each frame was its own write: 40 system calls for one connection.
    expect(calls).toEqual([...group(16), ...group(16), ...group(8)]);
  });
});
