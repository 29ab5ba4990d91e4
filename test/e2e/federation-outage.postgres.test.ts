/**
 * A peer that is down for hours gets everything, in order, once it is back. Time is compressed
 * by moving the next attempt of the sending server's delivery stream to the peer forward, so
 * the sending server
 * runs on PostgreSQL (TEST_DATABASE_URL, else the local server at 127.0.0.1:5432), in a
 * database of its own; the receiving one on the embedded database. A `.postgres.test.ts` file:
 * it runs in the PostgreSQL pass of the suite only (vitest.config.ts).
 */

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { withDatabase } from "../helpers/global-setup.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { call, eventually, ok, register, type User } from "../helpers/stream.ts";

interface MessageBody {
  seq: number;
  content: string;
}

const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

describe("a member server that is down for hours", { timeout: 180_000 }, () => {
  const database = `fedchat_outage_${randomBytes(6).toString("hex")}`;
  let admin: postgres.Sql;
  let sql: postgres.Sql;
  const dirs: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;
  let portB: number;
  let alice: User;
  let bob: User;

  const startB = () =>
    startServer({
      DATA_DIR: dirs[1] as string,
      PORT: String(portB),
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      RATE_LIMIT_FACTOR: "1000",
      LOG_LEVEL: "error",
    });

  beforeAll(async () => {
    admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${database}`);
    sql = postgres(withDatabase(adminUrl, database), { max: 1, onnotice: () => {} });
    for (let i = 0; i < 2; i++) dirs.push(preparedDataDir("fedchat-outage-"));
    portB = await freePort();
    [a, b] = await Promise.all([
      startServer({
        DATA_DIR: dirs[0] as string,
        DATABASE_URL: withDatabase(adminUrl, database),
        FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
        QUEUE_POLL_INTERVAL_MS: "100",
        RATE_LIMIT_FACTOR: "1000",
        LOG_LEVEL: "error",
      }),
      startB(),
    ]);
    [alice, bob] = await Promise.all([register(a, "alice"), register(b, "bob")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((s) => (s ? stopServer(s) : undefined)));
    await sql?.end();
    await admin?.unsafe(`drop database if exists ${database} with (force)`);
    await admin?.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("receives every message, in order, with the room's numbers", async () => {
    const room = await ok<{ id: string; handle: string }>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Outage",
      visibility: "public",
    });
    const asked = await call<{ id: string }>(b, bob.token, "POST", "/api/v1/rooms/join", { target: room.handle });
    expect(asked.status).toBe(202);
    const mirror = asked.body.id;
    await eventually("bob to be in", async () => {
      const rooms = await ok<{ rooms: { id: string; membership: string }[] }>(
        200,
        b,
        bob.token,
        "GET",
        "/api/v1/rooms",
      );
      return rooms.rooms.some((r) => r.id === mirror && r.membership === "joined") ? true : undefined;
    });

    await stopServer(b);
    for (let i = 1; i <= 5; i++) {
      await ok(201, a, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/m${i}`, { content: `while down ${i}` });
    }
    // Hours of backoff, compressed: each round waits for the failed attempt to be scheduled
    // again, then moves it to now.
    const failures = async () => {
      const [row] = await sql<{ n: number }[]>`select coalesce(max(failures), 0)::int as n from delivery_streams
        where next_attempt_at > now() and queued > position`;
      return row?.n ?? 0;
    };
    for (let round = 1; round <= 3; round++) {
      await eventually(`failure ${round} to be scheduled`, async () =>
        (await failures()) >= round ? true : undefined,
      );
      if (round < 3) await sql`update delivery_streams set next_attempt_at = now() where next_attempt_at > now()`;
    }
    const [stream] = await sql<{ failures: number }[]>`select failures from delivery_streams`;
    // Nothing was skipped while it was down.
    expect(stream?.failures).toBe(3);

    b = await startB();
    await sql`update delivery_streams set next_attempt_at = now() where next_attempt_at > now()`;
    const history = (server: ServerProcess, user: User, id: string) =>
      ok<{ messages: MessageBody[] }>(200, server, user.token, "GET", `/api/v1/rooms/${id}/messages?limit=100`).then(
        (r) => r.messages.map((m) => [m.seq, m.content]),
      );
    const onB = await eventually("every message on B", async () => {
      const list = await history(b, bob, mirror);
      return list.length === 5 ? list : undefined;
    });
    expect(onB).toEqual([1, 2, 3, 4, 5].map((n) => [n, `while down ${n}`]));
    expect(await history(a, alice, room.id)).toEqual(onB);
  });
});
