/**
 * A PostgreSQL outage under a running server with clients connected: a cluster of the test's
 * own (test/helpers/pg-cluster.ts, never the shared one) is stopped and started again while
 * WebSocket clients stay connected. During the outage requests must fail fast and say why
 * (503 `database_unavailable`); after it, the clients' open sockets must get new events again
 * without reconnecting. Timings are printed; the bounds asserted are loose on purpose (the
 * machine is shared), the goals are in the comments.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgCluster, type PgCluster } from "../helpers/pg-cluster.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import {
  eventually,
  type Frame,
  nextEvents,
  ok,
  openStream,
  refusedUpgrade,
  register,
  type StreamSocket,
  send,
  sleep,
  streamUrl,
  ticket,
  type User,
} from "../helpers/stream.ts";

/** The fields of a problem document the tests read. */
interface Problem {
  code: string;
  status: number;
  details?: Record<string, string>;
}

/** A request with its answer's status, headers, body and how long it took. */
async function timed(server: ServerProcess, method: string, path: string, token?: string, body?: unknown) {
  const started = performance.now();
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const ms = Math.round(performance.now() - started);
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Problem, ms };
}

/**
 * The server's log records at error level or above written after `from` (an offset in its
 * output) by its background work: the access log's lines for the 5xx answers are left out.
 */
function backgroundErrorsLogged(server: ServerProcess, from: number): string[] {
  return server
    .output()
    .slice(from)
    .split("\n")
    .filter((line) => /"level":"(ERROR|FATAL)"/.test(line) && !line.includes('"logger":"fedchat.http"'));
}

describe("a PostgreSQL outage with clients connected", () => {
  let cluster: PgCluster | undefined;
  let dir: string;
  let server: ServerProcess;
  let alice: User;
  let bob: User;
  let roomId: string;
  let sockets: StreamSocket[] = [];

  beforeAll(async () => {
    cluster = await createPgCluster((created) => {
      cluster = created;
    });
    dir = mkdtempSync(join(tmpdir(), "fedchat-outage-"));
    server = await startServer({ DATABASE_URL: cluster.url, DATA_DIR: dir, RATE_LIMIT_FACTOR: "1000" });
    [alice, bob] = await Promise.all([register(server, "alice"), register(server, "bob")]);
    roomId = (
      await ok<{ id: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
        name: "Outage",
        visibility: "public",
      })
    ).id;
    await ok(200, server, bob.token, "POST", `/api/v1/rooms/${roomId}/join`);
    sockets = [
      await openStream(server, alice, "alice#1"),
      await openStream(server, alice, "alice#2"),
      await openStream(server, bob, "bob#1"),
      await openStream(server, bob, "bob#2"),
    ];
    for (const socket of sockets) expect((await nextEvents(socket, 1, 5000))[0]?.type).toBe("ready");
  }, 120_000);

  afterAll(async () => {
    try {
      for (const socket of sockets) socket.ws.terminate();
      if (server) await stopServer(server, "SIGKILL");
      if (dir) rmSync(dir, { recursive: true, force: true });
    } finally {
      await cluster?.drop();
    }
  }, 60_000);

  const isMessage = (content: string) => (frame: Frame) =>
    frame.type === "message.created" && frame.data?.message?.content === content;

  /** Waits until every socket has the message; returns the slowest socket's wait in ms. */
  async function reachesEverySocket(content: string, since: number, timeoutMs: number): Promise<number> {
    const arrivals = await Promise.all(
      sockets.map(async (socket) => {
        await nextEvents(socket, 1, timeoutMs, isMessage(content));
        return performance.now() - since;
      }),
    );
    return Math.round(Math.max(...arrivals));
  }

  /** A send and /readyz while the database is down: both 503, both fast; returns their times. */
  async function probe(txnId: string): Promise<string> {
    // Goal: within 2 s (not the 500 after 10 s the audit saw); the bound leaves room for a busy machine.
    const sent = await timed(server, "PUT", `/api/v1/rooms/${roomId}/messages/${txnId}`, alice.token, {
      content: "during the outage",
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(503);
    expect(sent.body.code).toBe("database_unavailable");
    expect(Number(sent.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(sent.ms).toBeLessThan(5000);
    const ready = await timed(server, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.details?.database).toBe("unreachable");
    expect(ready.ms).toBeLessThan(5000);
    return `send ${sent.ms} ms, /readyz ${ready.ms} ms`;
  }

  it("answers 503 database_unavailable with Retry-After at once while PostgreSQL is down, and /readyz says so", async () => {
    if (!cluster) throw new Error("no cluster");
    await send(server, alice, roomId, "before-1", "before the outage");
    await reachesEverySocket("before the outage", performance.now(), 5000);
    const streamTicket = await ticket(server, bob);
    const logged = server.output().length;

    await cluster.stop();
    try {
      console.log(`at once after the stop: ${await probe("during-1")}`);
      // The driver's reconnection backoff grows with each failed attempt: the answers must
      // stay fast later in the outage too, while the hub's background work keeps failing.
      await sleep(6000);
      console.log(`six seconds into the outage: ${await probe("during-2")}`);

      // A client reconnecting its stream meanwhile is told the same, before the handshake.
      const refused = await refusedUpgrade(streamUrl(server), ["chat.v1", `ticket.${streamTicket}`]);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ code: "database_unavailable" });

      // The background work (the hub's presence, sweeps and pulls, the queue's workers) kept
      // failing meanwhile: the process neither crashed nor logged errors about an outage it
      // can do nothing about (warnings are expected).
      expect(server.child.exitCode, server.output().slice(-3000)).toBeNull();
      expect(backgroundErrorsLogged(server, logged)).toEqual([]);
    } finally {
      await cluster.start();
    }
    const back = performance.now();
    await eventually("/readyz to answer 200 again", async () =>
      (await timed(server, "GET", "/readyz")).status === 200 ? true : undefined,
    );
    console.log(`/readyz ready again ${Math.round(performance.now() - back)} ms after PostgreSQL was back`);
    for (const socket of sockets) expect(socket.closeInfo, socket.label).toBeUndefined();
  }, 90_000);

  it("delivers new events to the sockets that stayed open, soon after PostgreSQL is back", async () => {
    if (!cluster) throw new Error("no cluster");
    for (const socket of sockets) socket.skipReceived();
    // Ten seconds down: long enough that a driver's reconnection backoff grows, as in a real
    // outage, and nothing but the server's own recovery brings the stream back.
    await cluster.stop();
    await sleep(10_000);
    await cluster.start();
    const back = performance.now();

    // The first send the server takes may commit before its LISTEN is back: the hub catches up
    // when it is. Retried while the server still answers 503, as the web client does.
    let first = await timed(server, "PUT", `/api/v1/rooms/${roomId}/messages/after-0`, alice.token, {
      content: "first after the outage",
    });
    while (first.status === 503 && performance.now() - back < 10_000) {
      await sleep(100);
      first = await timed(server, "PUT", `/api/v1/rooms/${roomId}/messages/after-0`, alice.token, {
        content: "first after the outage",
      });
    }
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const firstSlowest = await reachesEverySocket("first after the outage", back, 10_000);
    console.log(
      `the first message the server took after the restart reached every socket ${firstSlowest} ms after PostgreSQL was back`,
    );

    await sleep(Math.max(0, 1000 - (performance.now() - back)));
    // Goal: on every open socket within 2 s of the send; asserted with room to spare.
    const started = performance.now();
    const sent = await timed(server, "PUT", `/api/v1/rooms/${roomId}/messages/after-1`, bob.token, {
      content: "after the outage",
    });
    console.log(`send 1 s after PostgreSQL was back: ${sent.status} in ${sent.ms} ms`);
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const slowest = await reachesEverySocket("after the outage", started, 10_000);
    console.log(`the message sent 1 s after the restart reached all ${sockets.length} sockets in ${slowest} ms`);
    expect(slowest).toBeLessThan(10_000);
    for (const socket of sockets) expect(socket.closeInfo, socket.label).toBeUndefined();
  }, 90_000);
});
