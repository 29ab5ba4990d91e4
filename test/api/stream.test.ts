import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, streamTickets } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { openStream } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

async function user(name: string) {
  const res = await t.request("/api/v1/auth/register", json("POST", { username: name, password: "correct horse" }));
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, headers: bearer(body.accessToken), token: body.accessToken };
}

async function ticket(headers: Record<string, string>): Promise<string> {
  const res = await t.request("/api/v1/stream/ticket", { method: "POST", headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** An SSE stream of this instance. */
const openSse = (headers: Record<string, string>, resume?: number) => openStream(t, headers, resume);

describe("the live stream over SSE", () => {
  it("delivers a room's events live, in order, to each of a member's connections", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    // The streams open before the room exists: a stream opened just after would get Alice's
    // own join live or not, depending on whether the hub had read it when the stream started.
    const [a1, a2] = [await openSse(alice.headers), await openSse(alice.headers)];
    const b1 = await openSse(bob.headers);
    for (const s of [a1, a2, b1]) expect((await s.take(1))[0]?.type).toBe("ready");
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Live", visibility: "public" }, alice.headers))
    ).json()) as { id: string };

    await t.request(`/api/v1/rooms/${room.id}/join`, { method: "POST", headers: bob.headers });
    const sent = await t.request(`/api/v1/rooms/${room.id}/messages/m1`, json("PUT", { content: "hi" }, bob.headers));
    const message = (await sent.json()) as { id: string };
    await t.request(`/api/v1/rooms/${room.id}/messages/${message.id}/reactions/${encodeURIComponent("🎉")}`, {
      method: "PUT",
      headers: alice.headers,
    });
    await t.request(`/api/v1/rooms/${room.id}/typing`, json("POST", { typing: true }, alice.headers));

    const after = ["member.joined", "message.created", "reaction.added", "typing"];
    for (const [stream, expected] of [
      [a1, ["member.joined", ...after]],
      [a2, ["member.joined", ...after]],
      [b1, after],
    ] as const) {
      // Someone's "online" reaches the other only if the join lands before the hub reads the
      // rooms to deliver it to (presence.ts): an ephemeral notice with no place in this order.
      const got: Awaited<ReturnType<typeof stream.take>> = [];
      while (got.length < expected.length) got.push(...(await stream.take(1)).filter((e) => e.type !== "presence"));
      expect(got.map((e) => e.type)).toEqual(expected);
      expect(got.every((e) => e.roomId === room.id)).toBe(true);
      const positions = got.slice(0, -1).map((e) => e.position);
      expect([...positions].sort((x, y) => x - y)).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
      expect(got.at(-1)?.data).toMatchObject({ actorId: alice.id, typing: true, timeout: 6000 });
    }
    await Promise.all([a1.close(), a2.close(), b1.close()]);
  });

  it("replays exactly what was missed after a reconnect, then goes on live", async () => {
    const carol = await user("carol");
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Resume", visibility: "private" }, carol.headers))
    ).json()) as { id: string };
    const first = await openSse(carol.headers);
    const [ready] = await first.take(1);
    await first.close();
    for (let i = 0; i < 30; i++) {
      await t.request(`/api/v1/rooms/${room.id}/messages/r${i}`, json("PUT", { content: `n${i}` }, carol.headers));
    }
    const again = await openSse(carol.headers, ready?.position);
    const replayed = await again.take(31);
    expect(replayed.slice(0, 30).map((e) => (e.data.message as { content: string }).content)).toEqual(
      Array.from({ length: 30 }, (_, i) => `n${i}`),
    );
    expect(replayed[30]?.type).toBe("ready");
    await t.request(`/api/v1/rooms/${room.id}/messages/live`, json("PUT", { content: "live" }, carol.headers));
    const [live] = await again.take(1);
    expect(live?.data.message).toMatchObject({ content: "live" });
    expect(live?.position).toBeGreaterThan(replayed[29]?.position ?? Number.POSITIVE_INFINITY);
    await again.close();
  });

  it("asks a client whose position is too old or unknown to resync", async () => {
    const dave = await user("dave");
    const future = await openSse(dave.headers, 10_000_000);
    expect((await future.take(1))[0]?.type).toBe("resync");
    await future.close();
    // Events before the oldest one kept are gone: a position before them cannot be replayed.
    const [oldest] = await t.testDatabase.db
      .select({ p: sql<number>`min(${events.position})`.mapWith(Number) })
      .from(events);
    await t.testDatabase.db.delete(events).where(eq(events.position, oldest?.p ?? 0));
    const old = await openSse(dave.headers, 0);
    expect((await old.take(1))[0]?.type).toBe("resync");
    await old.close();
  });

  it("does not show a private room's events to outsiders", async () => {
    const erin = await user("erin");
    const frank = await user("frank");
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Secret", visibility: "private" }, erin.headers))
    ).json()) as { id: string };
    const spy = await openSse(frank.headers);
    await spy.take(1);
    await t.request(`/api/v1/rooms/${room.id}/messages/s1`, json("PUT", { content: "secret" }, erin.headers));
    await t.request(`/api/v1/rooms/${room.id}/typing`, json("POST", {}, erin.headers));
    await expect(spy.take(1, 500)).rejects.toThrow(/expected 1 events/);
    await spy.close();
  });

  it("uses a ticket once, and refuses expired and unknown ones", async () => {
    const gina = await user("gina");
    const once = await ticket(gina.headers);
    const first = await t.request(`/api/v1/stream?ticket=${once}`);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const reused = await t.request(`/api/v1/stream?ticket=${once}`);
    expect(reused.status).toBe(401);
    const old = await ticket(gina.headers);
    await t.testDatabase.db.update(streamTickets).set({ expiresAt: sql`now() - interval '1 second'` });
    expect((await t.request(`/api/v1/stream?ticket=${old}`)).status).toBe(401);
    expect((await t.request("/api/v1/stream?ticket=nonsense")).status).toBe(401);
    expect((await t.request("/api/v1/stream")).status).toBe(422);
  });

  it("ends the stream within seconds when its session is logged out", async () => {
    const hank = await user("hank");
    const stream = await openSse(hank.headers);
    await stream.take(1);
    expect((await t.request("/api/v1/auth/logout", { method: "POST", headers: hank.headers })).status).toBe(204);
    expect(await stream.ended(5000)).toBe(true);
  });

  it("tells a kicked member, then shows them nothing more of the room", async () => {
    const ivy = await user("ivy");
    const jack = await user("jack");
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Kick", visibility: "public" }, ivy.headers))
    ).json()) as { id: string };
    await t.request(`/api/v1/rooms/${room.id}/join`, { method: "POST", headers: jack.headers });
    const stream = await openSse(jack.headers);
    await stream.take(1);
    await t.request(`/api/v1/rooms/${room.id}/members/${jack.id}/kick`, json("POST", { reason: "test" }, ivy.headers));
    const [left] = await stream.take(1);
    expect(left).toMatchObject({ type: "member.left", data: { actorId: jack.id, reason: "kicked" } });
    await t.request(`/api/v1/rooms/${room.id}/messages/k1`, json("PUT", { content: "after" }, ivy.headers));
    await expect(stream.take(1, 500)).rejects.toThrow(/expected 1 events/);
    await stream.close();
  });

  it("shows presence: online with the first connection, offline after the last one and a grace period", async () => {
    const kate = await user("kate");
    const liam = await user("liam");
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Presence", visibility: "public" }, kate.headers))
    ).json()) as { id: string };
    await t.request(`/api/v1/rooms/${room.id}/join`, { method: "POST", headers: liam.headers });
    const watcher = await openSse(kate.headers);
    await watcher.take(1);
    const members = async () =>
      (
        (await (await t.request(`/api/v1/rooms/${room.id}/members`, { headers: kate.headers })).json()) as {
          members: { actor: { id: string }; presence: string }[];
        }
      ).members.find((m) => m.actor.id === liam.id)?.presence;
    expect(await members()).toBe("offline");
    const first = await openSse(liam.headers);
    const second = await openSse(liam.headers);
    const [online] = await watcher.take(1);
    expect(online).toMatchObject({ type: "presence", data: { actorId: liam.id, status: "online" } });
    expect(await members()).toBe("online");
    await first.close();
    await expect(watcher.take(1, 6500)).rejects.toThrow(/expected 1 events/);
    await second.close();
    const [offline] = await watcher.take(1, 8000);
    expect(offline).toMatchObject({ type: "presence", data: { actorId: liam.id, status: "offline" } });
    expect(await members()).toBe("offline");
    await watcher.close();
  }, 30_000);
});

describe("the event log's retention", () => {
  it("deletes events older than a week, after which their positions resync", async () => {
    const { purgeEvents } = await import("../../src/stream/events.ts");
    const [newest] = await t.testDatabase.db
      .select({ p: sql<number>`max(${events.position})`.mapWith(Number) })
      .from(events);
    await t.testDatabase.db.update(events).set({ createdAt: sql`now() - interval '8 days'` });
    expect(await purgeEvents(t.testDatabase.db)).toBeGreaterThan(0);
    expect(await t.testDatabase.db.select().from(events)).toEqual([]);
    const olga = await user("olga");
    const stream = await openSse(olga.headers, (newest?.p ?? 1) - 1);
    expect((await stream.take(1))[0]?.type).toBe("resync");
    await stream.close();
  });
});

describe("the sweep for ended sessions", () => {
  it("closes no connection opened while it runs (300 connecting, sweeps all the while)", async () => {
    const hub = t.hub;
    const users = await Promise.all(["sweep_a", "sweep_b", "sweep_c"].map((name) => user(name)));
    const sessionOf = async (u: { headers: Record<string, string> }) => {
      // The ticket names the session: redeeming it is what the transports do before connecting.
      const who = await hub.redeemTicket(await ticket(u.headers));
      return who;
    };
    const whos = await Promise.all(users.map(sessionOf));
    const closes: number[] = [];
    const detachers: (() => void)[] = [];
    let sweeping = true;
    const sweeps = (async () => {
      while (sweeping) await hub.sweepSessions();
    })();
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const detach = await hub.connect(whos[i % whos.length] as { actorId: string; sessionId: string }, {
          send: () => true,
          close: (code) => closes.push(code),
        });
        detachers.push(detach);
      }),
    );
    sweeping = false;
    await sweeps;
    await hub.sweepSessions();
    for (const detach of detachers) detach();
    expect(closes).toEqual([]);
  });
});
