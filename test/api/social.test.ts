import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, openStream, rows } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

interface Notification {
  id: string;
  type: string;
  actor: { id: string } | null;
  roomId: string | null;
  messageId: string | null;
  data: Record<string, unknown>;
  read: boolean;
}
interface Message {
  id: string;
  seq: number;
  author: { id: string } | null;
  hidden?: boolean;
}

let n = 0;
async function user(prefix: string) {
  const username = `${prefix}${++n}`;
  const res = await t.request("/api/v1/auth/register", json("POST", { username, password: "correct horse" }));
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, username, headers: bearer(body.accessToken) };
}
type User = Awaited<ReturnType<typeof user>>;

async function publicRoom(owner: User, ...members: User[]) {
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Hall", visibility: "public" }, owner.headers));
  const { id } = (await res.json()) as { id: string };
  for (const m of members) {
    expect((await t.request(`/api/v1/rooms/${id}/join`, { method: "POST", headers: m.headers })).status).toBe(200);
  }
  return id;
}

let txn = 0;
async function say(who: User, roomId: string, content: string, replyTo?: string) {
  const res = await t.request(
    `/api/v1/rooms/${roomId}/messages/t${++txn}`,
    json("PUT", { content, ...(replyTo ? { replyTo } : {}) }, who.headers),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Message;
}

async function notificationsOf(who: User, query = "") {
  const res = await t.request(`/api/v1/notifications${query}`, { headers: who.headers });
  expect(res.status).toBe(200);
  return (await res.json()) as { notifications: Notification[]; unread: number };
}

const block = (who: User, target: User) =>
  t.request("/api/v1/blocks", json("POST", { user: target.username }, who.headers));

describe("notifications", () => {
  it("makes exactly one for a mention and one for a reply, live on the stream", async () => {
    const [ann, ben] = [await user("ann"), await user("ben")];
    const roomId = await publicRoom(ann, ben);
    const stream = await openStream(t, ann.headers);
    expect((await stream.take(1))[0]?.type).toBe("ready");

    const first = await say(ann, roomId, "hello hall");
    await say(ben, roomId, `hi @${ann.username}`);
    await say(ben, roomId, `agreed @${ann.username}`, first.id); // a reply that also mentions
    await say(ben, roomId, "no one in particular");

    const live = (await stream.take(6)).filter((e) => e.type === "notification");
    expect(live.map((e) => (e.data.notification as Notification).type)).toEqual(["mention", "reply"]);
    await stream.close();

    const { notifications, unread } = await notificationsOf(ann);
    expect(notifications.map((x) => x.type)).toEqual(["reply", "mention"]);
    expect(unread).toBe(2);
    expect(notifications.every((x) => x.actor?.id === ben.id && x.roomId === roomId && !x.read)).toBe(true);
    expect((await notificationsOf(ben)).notifications).toEqual([]);

    // Deleting the message takes its notification (and the snippet it quotes) with it.
    const mention = notifications[1] as Notification;
    expect(mention.data.snippet).toBe(`hi @${ann.username}`);
    const deleted = await t.request(`/api/v1/rooms/${roomId}/messages/${mention.messageId}`, {
      method: "DELETE",
      headers: ben.headers,
    });
    expect(deleted.status).toBe(204);
    expect((await notificationsOf(ann)).notifications.map((x) => x.type)).toEqual(["reply"]);
  });

  it("tells someone an edit mentions for the first time, once", async () => {
    const [ann, ben] = [await user("ann"), await user("ben")];
    const roomId = await publicRoom(ann, ben);
    const message = await say(ben, roomId, "who was it again?");
    const edit = (content: string) =>
      t.request(`/api/v1/rooms/${roomId}/messages/${message.id}`, json("PATCH", { content }, ben.headers));
    expect((await edit(`it was @${ann.username}`)).status).toBe(200);
    expect((await edit(`it was @${ann.username}, surely`)).status).toBe(200);
    const { notifications } = await notificationsOf(ann);
    expect(notifications.map((x) => [x.type, x.messageId])).toEqual([["mention", message.id]]);
  });

  it("marks a room's notifications read up to where its reader has read", async () => {
    const [ann, ben] = [await user("ann"), await user("ben")];
    const roomId = await publicRoom(ann, ben);
    const first = await say(ben, roomId, `@${ann.username} one`);
    await say(ben, roomId, `@${ann.username} two`);
    const read = await t.request(`/api/v1/rooms/${roomId}/read`, json("POST", { seq: first.seq }, ann.headers));
    expect(read.status).toBe(200);
    const { notifications, unread } = await notificationsOf(ann);
    expect(unread).toBe(1);
    expect(notifications.map((x) => [x.data.snippet, x.read])).toEqual([
      [`@${ann.username} two`, false],
      [`@${ann.username} one`, true],
    ]);
  });

  it("pages, and marks one or all read", async () => {
    const [ann, ben] = [await user("ann"), await user("ben")];
    const roomId = await publicRoom(ann, ben);
    for (let i = 0; i < 3; i++) await say(ben, roomId, `@${ann.username} ${i}`);
    const page = await notificationsOf(ann, "?limit=2");
    expect(page.notifications).toHaveLength(2);
    const rest = await notificationsOf(ann, `?limit=2&before=${page.notifications[1]?.id}`);
    expect(rest.notifications).toHaveLength(1);

    const one = page.notifications[0]?.id ?? "";
    expect((await t.request("/api/v1/notifications/read", json("POST", { ids: [one] }, ann.headers))).status).toBe(204);
    expect((await notificationsOf(ann)).unread).toBe(2);
    expect((await notificationsOf(ann, "?unread=true")).notifications.map((x) => x.id)).not.toContain(one);
    // Someone else's notification cannot be marked.
    await expectProblem(
      await t.request("/api/v1/notifications/read", json("POST", { ids: [one] }, ben.headers)),
      404,
      "notification_not_found",
    );
    expect((await t.request("/api/v1/notifications/read", json("POST", {}, ann.headers))).status).toBe(204);
    expect((await notificationsOf(ann)).unread).toBe(0);
  });

  it("makes none in a muted room, and follows the room's level", async () => {
    const [ann, ben] = [await user("ann"), await user("ben")];
    const roomId = await publicRoom(ann, ben);
    const settings = (body: Record<string, unknown>) =>
      t.request(`/api/v1/rooms/${roomId}/members/me`, json("PATCH", body, ann.headers));
    const annStream = await openStream(t, ann.headers);
    const benStream = await openStream(t, ben.headers);
    expect((await annStream.take(1))[0]?.type).toBe("ready");
    expect((await benStream.take(1))[0]?.type).toBe("ready");
    const muted = await settings({ muted: true });
    expect(((await muted.json()) as { notifications: unknown }).notifications).toEqual({
      level: "mentions",
      muted: true,
    });
    await settings({ nickname: "Annie" });
    // Ann's other sessions learn of the mute; the room learns only of the nickname.
    const seen = async (stream: typeof annStream, n: number) => {
      const got: Awaited<ReturnType<typeof stream.take>> = [];
      while (got.length < n) got.push(...(await stream.take(1)).filter((e) => e.type !== "presence"));
      return got;
    };
    expect(
      (await seen(annStream, 2)).map((e) => [e.type, e.data.roomId ?? null, e.data.notifications ?? null]),
    ).toEqual([
      ["room.notifications", roomId, { level: "mentions", muted: true }],
      ["member.updated", null, null],
    ]);
    expect((await seen(benStream, 1)).map((e) => e.type)).toEqual(["member.updated"]);
    await annStream.close();
    await benStream.close();
    await say(ben, roomId, `@${ann.username} are you there?`);
    expect((await notificationsOf(ann)).notifications).toEqual([]);

    await settings({ muted: false, notifications: "all" });
    await say(ben, roomId, "plain message");
    expect((await notificationsOf(ann)).notifications.map((x) => x.type)).toEqual(["message"]);

    await settings({ notifications: "none" });
    await say(ben, roomId, `@${ann.username} again`);
    expect((await notificationsOf(ann)).notifications).toHaveLength(1);
    const list = await t.request("/api/v1/rooms", { headers: ann.headers });
    const rooms = ((await list.json()) as { rooms: { id: string; notifications: unknown }[] }).rooms;
    expect(rooms.find((r) => r.id === roomId)?.notifications).toEqual({ level: "none", muted: false });
  });
});

describe("blocks", () => {
  it("refuses a blocked user's DM, invite and contact request", async () => {
    const [vic, troll] = [await user("vic"), await user("troll")];
    expect((await block(vic, troll)).status).toBe(200);
    await expectProblem(
      await t.request("/api/v1/dms", json("POST", { users: [vic.username] }, troll.headers)),
      403,
      "forbidden",
    );
    const res = await t.request("/api/v1/rooms", json("POST", { name: "Lair", visibility: "private" }, troll.headers));
    const lair = ((await res.json()) as { id: string }).id;
    await expectProblem(
      await t.request(`/api/v1/rooms/${lair}/invites`, json("POST", { user: vic.username }, troll.headers)),
      403,
      "forbidden",
    );
    await expectProblem(
      await t.request("/api/v1/contacts", json("POST", { user: vic.username }, troll.headers)),
      403,
      "forbidden",
    );
    expect(await rows(t, sql`select 1 from invites where room_id = ${lair}`)).toHaveLength(0);
    expect(await rows(t, sql`select 1 from contact_requests where from_id = ${troll.id}`)).toHaveLength(0);
    expect((await notificationsOf(vic)).notifications).toEqual([]);
  });

  it("ends an existing one-to-one conversation both ways, and tells the blocker's sessions", async () => {
    const [vic, troll] = [await user("vic"), await user("troll")];
    const dm = await t.request("/api/v1/dms", json("POST", { users: [vic.username] }, troll.headers));
    const dmId = ((await dm.json()) as { id: string }).id;
    await say(troll, dmId, "hi");
    const stream = await openStream(t, vic.headers);
    expect((await stream.take(1))[0]?.type).toBe("ready");
    await block(vic, troll);
    const [event] = await stream.take(1);
    expect(event).toMatchObject({ type: "block.updated", data: { actor: { id: troll.id }, blocked: true } });
    await stream.close();
    for (const who of [troll, vic]) {
      await expectProblem(
        await t.request(`/api/v1/rooms/${dmId}/messages/after-block`, json("PUT", { content: "hello?" }, who.headers)),
        403,
        "forbidden",
      );
    }
    const unblocked = await t.request(`/api/v1/blocks/${troll.username}`, { method: "DELETE", headers: vic.headers });
    expect(unblocked.status).toBe(204);
    await say(troll, dmId, "sorry");
  });

  it("hides their messages in shared rooms for the blocker only, and their mentions do not count", async () => {
    const [vic, troll, sam] = [await user("vic"), await user("troll"), await user("sam")];
    const roomId = await publicRoom(sam, vic, troll);
    await block(vic, troll);
    await say(troll, roomId, `@${vic.username} listen to me`);
    await say(sam, roomId, "hello");
    const history = async (who: User) => {
      const res = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: who.headers });
      return ((await res.json()) as { messages: Message[] }).messages.map((m) => [m.author?.id, m.hidden]);
    };
    expect(await history(vic)).toEqual([
      [troll.id, true],
      [sam.id, false],
    ]);
    expect(await history(sam)).toEqual([
      [troll.id, false],
      [sam.id, false],
    ]);
    expect((await notificationsOf(vic)).notifications).toEqual([]);
    const list = await t.request("/api/v1/rooms", { headers: vic.headers });
    const rooms = ((await list.json()) as { rooms: { id: string; mentions: number }[] }).rooms;
    expect(rooms.find((r) => r.id === roomId)?.mentions).toBe(0);
  });
});

describe("targeted invites", () => {
  it("notifies the invitee, who alone can redeem the code", async () => {
    const [host, guest, other] = [await user("host"), await user("guest"), await user("other")];
    const res = await t.request("/api/v1/rooms", json("POST", { name: "Club", visibility: "private" }, host.headers));
    const club = ((await res.json()) as { id: string }).id;
    const created = await t.request(
      `/api/v1/rooms/${club}/invites`,
      json("POST", { user: guest.username }, host.headers),
    );
    expect(created.status).toBe(201);
    const { notifications } = await notificationsOf(guest);
    expect(notifications.map((x) => [x.type, x.roomId, x.data.roomName])).toEqual([["invite", club, "Club"]]);
    const code = String(notifications[0]?.data.code);
    await expectProblem(
      await t.request(`/api/v1/invites/${code}/accept`, { method: "POST", headers: other.headers }),
      404,
      "invite_not_found",
    );
    // Nor does anyone else see the private room through it.
    await expectProblem(
      await t.request(`/api/v1/invites/${code}`, { headers: other.headers }),
      404,
      "invite_not_found",
    );
    expect((await t.request(`/api/v1/invites/${code}`, { headers: guest.headers })).status).toBe(200);
    expect((await t.request(`/api/v1/invites/${code}/accept`, { method: "POST", headers: guest.headers })).status).toBe(
      200,
    );
  });
});

describe("contacts", () => {
  interface Contacts {
    contacts: { actor: { id: string }; presence: string }[];
    incoming: { id: string; actor: { id: string } }[];
    outgoing: { id: string; actor: { id: string } }[];
  }
  const contactsOf = async (who: User) =>
    (await (await t.request("/api/v1/contacts", { headers: who.headers })).json()) as Contacts;
  const ask = (who: User, target: User) =>
    t.request("/api/v1/contacts", json("POST", { user: target.username }, who.headers));

  it("sends, accepts and removes, telling both sides on the stream", async () => {
    const [kim, lee] = [await user("kim"), await user("lee")];
    const stream = await openStream(t, lee.headers);
    expect((await stream.take(1))[0]?.type).toBe("ready");
    const asked = (await (await ask(kim, lee)).json()) as { state: string; requestId: string };
    expect(asked.state).toBe("outgoing");
    expect((await ask(kim, lee)).status).toBe(200); // twice is a no-op
    expect((await contactsOf(kim)).outgoing.map((r) => r.actor.id)).toEqual([lee.id]);
    const incoming = (await contactsOf(lee)).incoming;
    expect(incoming.map((r) => r.id)).toEqual([asked.requestId]);
    expect((await notificationsOf(lee)).notifications.map((x) => x.type)).toEqual(["contact_request"]);

    const accept = await t.request(`/api/v1/contacts/requests/${asked.requestId}/accept`, {
      method: "POST",
      headers: lee.headers,
    });
    expect(accept.status).toBe(204);
    const events = await stream.take(3);
    expect(events.map((e) => [e.type, (e.data as { state?: string }).state])).toEqual([
      ["notification", undefined],
      ["contact.updated", "incoming"],
      ["contact.updated", "contact"],
    ]);
    // Lee has a live stream open: Kim sees Lee online.
    expect((await contactsOf(kim)).contacts.map((c) => [c.actor.id, c.presence])).toEqual([[lee.id, "online"]]);
    await stream.close();
    expect((await contactsOf(lee)).contacts.map((c) => c.actor.id)).toEqual([kim.id]);

    expect(
      (await t.request(`/api/v1/contacts/${kim.username}`, { method: "DELETE", headers: lee.headers })).status,
    ).toBe(204);
    expect((await contactsOf(kim)).contacts).toEqual([]);
  });

  it("declines and cancels, each by the right side only", async () => {
    const [kim, lee] = [await user("kim"), await user("lee")];
    const first = (await (await ask(kim, lee)).json()) as { requestId: string };
    const settle = (who: User, path: string, method = "POST") =>
      t.request(`/api/v1/contacts/requests/${first.requestId}${path}`, { method, headers: who.headers });
    await expectProblem(await settle(kim, "/accept"), 404, "contact_request_not_found");
    await expectProblem(await settle(lee, "", "DELETE"), 404, "contact_request_not_found");
    expect((await settle(lee, "/decline")).status).toBe(204);
    expect((await contactsOf(kim)).outgoing).toEqual([]);

    const second = (await (await ask(kim, lee)).json()) as { requestId: string };
    const cancel = await t.request(`/api/v1/contacts/requests/${second.requestId}`, {
      method: "DELETE",
      headers: kim.headers,
    });
    expect(cancel.status).toBe(204);
    expect((await contactsOf(lee)).incoming).toEqual([]);
  });

  it("accepts at once when both ask, and a block ends the contact", async () => {
    const [kim, lee] = [await user("kim"), await user("lee")];
    await ask(kim, lee);
    expect(((await (await ask(lee, kim)).json()) as { state: string }).state).toBe("contact");
    expect((await contactsOf(kim)).contacts).toHaveLength(1);
    await block(kim, lee);
    expect((await contactsOf(kim)).contacts).toEqual([]);
    expect((await contactsOf(lee)).contacts).toEqual([]);
  });
});
