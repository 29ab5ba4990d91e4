import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, avatarForm, type Client, openStream, png, rows, type StreamEvent } from "./support.ts";

// Profile changes reach, live and once, every session that shows the person: members of a
// room they share, their contacts and their own other sessions; nobody else.

let t: TestInstance;
const { signUp, call, ok } = apiClient(() => t);
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

type Stream = Awaited<ReturnType<typeof openStream>>;

/** The next event of a type, passing over others (presence, joins); fails after `ms`. */
async function next(stream: Stream, type: string, ms = 5000): Promise<StreamEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const [event] = await stream.take(1, Math.max(1, deadline - Date.now()));
    if (event?.type === type) return event;
  }
}

async function ready(who: Client, resume?: number): Promise<{ stream: Stream; position: number }> {
  const stream = await openStream(t, who.headers, resume);
  const event = await next(stream, "ready");
  return { stream, position: event.position };
}

async function shareRoom(owner: Client, ...others: Client[]): Promise<string> {
  const room = await ok<{ id: string }>(
    await call("POST", "/rooms", owner, { name: "Shared", visibility: "public" }),
    201,
  );
  for (const o of others) await ok(await call("POST", `/rooms/${room.id}/join`, o));
  return room.id;
}

describe("profile.updated", () => {
  it("reaches room members, contacts and one's own sessions, once each, and no stranger", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const carol = await signUp("carol");
    const dave = await signUp("dave");
    await shareRoom(alice, bob);
    await shareRoom(alice, bob); // two shared rooms: Bob still gets one event
    const asked = await ok<{ requestId: string }>(await call("POST", "/contacts", alice, { user: dave.username }));
    await ok(await call("POST", `/contacts/requests/${asked.requestId}/accept`, dave), 204);
    const streams = await Promise.all([alice, bob, carol, dave].map((who) => ready(who)));
    const [own, ofBob, ofCarol, ofDave] = streams.map((s) => s.stream) as [Stream, Stream, Stream, Stream];

    await ok(await call("PATCH", "/me", alice, { displayName: "Alice Liddell", color: "#336699" }));
    for (const stream of [own, ofBob, ofDave]) {
      const event = await next(stream, "profile.updated");
      expect(event.roomId).toBeUndefined();
      expect(event.data.actor).toMatchObject({ id: alice.id, displayName: "Alice Liddell", color: "#336699" });
    }
    // Carol's next event is her own room's, not Alice's profile; Bob's is not a second copy.
    await shareRoom(carol, bob);
    expect((await ofCarol.take(1))[0]?.type).toBe("member.joined");
    const bobNext = await ofBob.take(1);
    expect(bobNext[0]?.type).not.toBe("profile.updated");
    await Promise.all(streams.map((s) => s.stream.close()));
  });

  it("tells an avatar change too, and is replayed to a member who was away, not to a stranger", async () => {
    const erin = await signUp("erin");
    const frank = await signUp("frank");
    const gina = await signUp("gina");
    await shareRoom(erin, frank);
    const away = await ready(frank);
    const stranger = await ready(gina);
    await Promise.all([away.stream.close(), stranger.stream.close()]);

    const res = await t.request("/api/v1/me/avatar", {
      method: "PUT",
      headers: erin.headers,
      body: avatarForm(png(16, 16), "me.png", "image/png"),
    });
    const { avatarUrl } = await ok<{ avatarUrl: string }>(res);
    const back = await openStream(t, frank.headers, away.position);
    const replayed = await next(back, "profile.updated");
    expect(replayed.data.actor).toMatchObject({ id: erin.id, avatarUrl });
    await back.close();

    const strangerBack = await openStream(t, gina.headers, stranger.position);
    const events = [];
    for (;;) {
      const [event] = await strangerBack.take(1);
      if (event == null || event.type === "ready") break;
      events.push(event.type);
    }
    expect(events).not.toContain("profile.updated");
    await strangerBack.close();
  });

  it("is not told for a change to what the profile already says", async () => {
    const olga = await signUp("olga");
    const told = async () => {
      const [row] = await rows<{ n: number }>(
        t,
        sql`select count(*)::int as n from events where type = 'profile.updated' and actor_id = ${olga.id}`,
      );
      return Number(row?.n);
    };
    await ok(await call("PATCH", "/me", olga, { color: "#112233", displayName: "Olga" }));
    expect(await told()).toBe(1);
    for (let i = 0; i < 3; i++) {
      const me = await ok<{ color: string; displayName: string }>(
        await call("PATCH", "/me", olga, { color: "#112233", displayName: "Olga" }),
      );
      expect(me).toMatchObject({ color: "#112233", displayName: "Olga" });
    }
    // No avatar to remove: nothing to tell either.
    await ok(await call("DELETE", "/me/avatar", olga));
    expect(await told()).toBe(1);
    await ok(await call("PATCH", "/me", olga, { color: null }));
    expect(await told()).toBe(2);
  });
});

describe("direct rooms", () => {
  it("are named and pictured by the other people in them, by display name, never oneself", async () => {
    const hana = await signUp("hana");
    const ivan = await signUp("ivan");
    const jo = await signUp("jo");
    await ok(await call("PATCH", "/me", ivan, { displayName: "Ivan the Kind" }));
    const avatar = await t.request("/api/v1/me/avatar", {
      method: "PUT",
      headers: ivan.headers,
      body: avatarForm(png(16, 16), "me.png", "image/png"),
    });
    const { avatarUrl } = await ok<{ avatarUrl: string }>(avatar);
    const dm = await ok<{ id: string; name: string; avatarUrl: string; others: { id: string }[] }>(
      await call("POST", "/dms", hana, { users: [ivan.username] }),
    );
    expect(dm).toMatchObject({ name: "Ivan the Kind", avatarUrl, others: [{ id: ivan.id }] });
    const { rooms } = await ok<{ rooms: { id: string; name: string; others: { id: string }[] }[] }>(
      await call("GET", "/rooms", ivan),
    );
    expect(rooms.find((r) => r.id === dm.id)).toMatchObject({ name: hana.username, others: [{ id: hana.id }] });

    const group = await ok<{ name: string; avatarUrl: string | null; others: { id: string }[] }>(
      await call("POST", "/dms", jo, { users: [hana.username, ivan.username] }),
    );
    expect(group.others.map((o) => o.id).sort()).toEqual([hana.id, ivan.id].sort());
    expect(group.name.split(", ").sort()).toEqual([hana.username, "Ivan the Kind"].sort());
    expect(group.avatarUrl).toBeNull();
  });

  it("keep a name someone gave the group", async () => {
    const kim = await signUp("kim");
    const lee = await signUp("lee");
    const max = await signUp("max");
    const group = await ok<{ id: string }>(await call("POST", "/dms", kim, { users: [lee.username, max.username] }));
    await ok(await call("PATCH", `/rooms/${group.id}`, kim, { name: "Book Club" }));
    expect(await ok<{ name: string }>(await call("GET", `/rooms/${group.id}`, lee))).toMatchObject({
      name: "Book Club",
    });
  });

  it("keep a chosen name that looks like usernames, such as one lowercase word", async () => {
    const [nat, oli, pam] = [await signUp("nat"), await signUp("oli"), await signUp("pam")];
    await ok(await call("PATCH", "/me", oli, { displayName: "Oliver" }));
    const group = await ok<{ id: string; name: string }>(
      await call("POST", "/dms", nat, { users: [oli.username, pam.username] }),
    );
    expect(group.name.split(", ").sort()).toEqual(["Oliver", pam.username].sort());
    for (const name of ["bookclub", "nat, oli"]) {
      await ok(await call("PATCH", `/rooms/${group.id}`, nat, { name }));
      for (const who of [nat, oli, pam]) {
        expect(await ok<{ name: string }>(await call("GET", `/rooms/${group.id}`, who))).toMatchObject({ name });
      }
    }
  });
});

describe("contact request notifications", () => {
  it("are read once the request is accepted or declined (issue 17, item 7)", async () => {
    const nia = await signUp("nia");
    for (const answer of ["accept", "decline"] as const) {
      const asker = await signUp(`asker_${answer}`);
      const { requestId } = await ok<{ requestId: string }>(
        await call("POST", "/contacts", asker, { user: nia.username }),
      );
      const before = await ok<{ unread: number }>(await call("GET", "/notifications", nia));
      await ok(await call("POST", `/contacts/requests/${requestId}/${answer}`, nia), 204);
      const after = await ok<{ unread: number; notifications: { type: string; read: boolean }[] }>(
        await call("GET", "/notifications", nia),
      );
      expect(after.unread).toBe(before.unread - 1);
      expect(after.notifications.filter((n) => n.type === "contact_request").every((n) => n.read)).toBe(true);
    }
  });
});
