import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, openStream, rows } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

const api = apiClient(() => t);

interface Summary {
  count: number;
  lastReplyAt: string;
  participants: { id: string }[];
  unread: number;
}
interface Message {
  id: string;
  seq: number;
  content: string;
  createdAt: string;
  threadRootId: string | null;
  alsoInRoom: boolean;
  thread: Summary | null;
  author: { id: string } | null;
}
interface Notification {
  type: string;
  messageId: string | null;
  roomId: string | null;
}

async function publicRoom(owner: Client, ...members: Client[]) {
  const { id } = await api.ok<{ id: string }>(
    await api.call("POST", "/rooms", owner, { name: "Hall", visibility: "public" }),
    201,
  );
  for (const m of members) await api.ok(await api.call("POST", `/rooms/${id}/join`, m));
  return id;
}

let txn = 0;
const send = (who: Client, roomId: string, body: Record<string, unknown>) =>
  api.call("PUT", `/rooms/${roomId}/messages/t${++txn}`, who, body);
const say = async (who: Client, roomId: string, content: string, extra: Record<string, unknown> = {}) =>
  await api.ok<Message>(await send(who, roomId, { content, ...extra }), 201);
const thread = async (who: Client, roomId: string, rootId: string, query = "") =>
  await api.ok<{ root: Message; messages: Message[] }>(
    await api.call("GET", `/rooms/${roomId}/threads/${rootId}${query}`, who),
  );
const history = async (who: Client, roomId: string) =>
  (await api.ok<{ messages: Message[] }>(await api.call("GET", `/rooms/${roomId}/messages`, who))).messages;
const notificationsOf = async (who: Client) =>
  (await api.ok<{ notifications: Notification[] }>(await api.call("GET", "/notifications", who))).notifications;

describe("threads", () => {
  it("keeps five replies in order under their root, which counts them", async () => {
    const [ann, ben, cat] = [await api.signUp("ann"), await api.signUp("ben"), await api.signUp("cat")];
    const roomId = await publicRoom(ann, ben, cat);
    const root = await say(ann, roomId, "lunch?");
    const replies: Message[] = [];
    for (const [i, who] of [ben, cat, ben, ann, cat].entries()) {
      replies.push(await say(who, roomId, `reply ${i + 1}`, { threadRootId: root.id }));
    }
    expect(replies.map((r) => r.threadRootId)).toEqual(Array(5).fill(root.id));
    expect(replies.map((r) => r.alsoInRoom)).toEqual(Array(5).fill(false));

    const listed = await thread(ben, roomId, root.id);
    expect(listed.root.id).toBe(root.id);
    expect(listed.messages.map((m) => m.content)).toEqual(["reply 1", "reply 2", "reply 3", "reply 4", "reply 5"]);
    expect(listed.root.thread).toMatchObject({ count: 5, lastReplyAt: replies[4]?.createdAt });
    // The latest repliers first, each once.
    expect(listed.root.thread?.participants.map((p) => p.id)).toEqual([cat.id, ann.id, ben.id]);

    // History holds them all, numbered without gaps, flagged so that clients show them in the thread.
    const all = await history(ann, roomId);
    expect(all.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[0]?.thread?.count).toBe(5);
    expect(all.slice(1).every((m) => m.threadRootId === root.id && m.thread == null)).toBe(true);

    // Named by one of its replies, the thread is its root's; a reply to a reply joins the root's thread.
    expect((await thread(ann, roomId, replies[2]?.id ?? "")).root.id).toBe(root.id);
    const nested = await say(ann, roomId, "nested", { threadRootId: replies[0]?.id });
    expect(nested.threadRootId).toBe(root.id);
    // Pages like history.
    const page = await thread(ann, roomId, root.id, `?after=${replies[1]?.seq}&limit=2`);
    expect(page.messages.map((m) => m.content)).toEqual(["reply 3", "reply 4"]);
  });

  it("notifies the root's author and the repliers, not the muted nor bystanders", async () => {
    const [ann, ben, cat, dan] = [
      await api.signUp("ann"),
      await api.signUp("ben"),
      await api.signUp("cat"),
      await api.signUp("dan"),
    ];
    const roomId = await publicRoom(ann, ben, cat, dan);
    const root = await say(ann, roomId, "plans");
    await say(dan, roomId, "count me in", { threadRootId: root.id });
    await api.ok(await api.call("PATCH", `/rooms/${roomId}/members/me`, dan, { muted: true }));
    const annStream = await openStream(t, ann.headers);
    expect((await annStream.take(1))[0]?.type).toBe("ready");
    await say(ben, roomId, "first", { threadRootId: root.id });
    const last = await say(cat, roomId, "second", { threadRootId: root.id });

    const annNotes = await notificationsOf(ann);
    expect(annNotes.filter((n) => n.type === "thread")).toHaveLength(3);
    // Ben replied, so Cat's reply reaches him; Dan replied but muted the room; Cat wrote it.
    expect((await notificationsOf(ben)).map((n) => [n.type, n.messageId])).toEqual([["thread", last.id]]);
    expect(await notificationsOf(dan)).toEqual([]);
    expect(await notificationsOf(cat)).toEqual([]);

    // Live: the reply is a message.created carrying its root, and the root's author hears of it.
    const events = await annStream.take(4);
    expect(events.map((e) => e.type)).toEqual(["message.created", "notification", "message.created", "notification"]);
    const created = events[2]?.data.message as Message;
    expect([created.id, created.threadRootId, created.alsoInRoom]).toEqual([last.id, root.id, false]);
    await annStream.close();
  });

  it("counts what a member has not read in a thread, until they read it or reply", async () => {
    const [ann, ben] = [await api.signUp("ann"), await api.signUp("ben")];
    const roomId = await publicRoom(ann, ben);
    const root = await say(ann, roomId, "news");
    const first = await say(ben, roomId, "one", { threadRootId: root.id });
    const second = await say(ben, roomId, "two", { threadRootId: root.id });
    expect((await thread(ann, roomId, root.id)).root.thread?.unread).toBe(2);
    expect((await thread(ben, roomId, root.id)).root.thread?.unread).toBe(0);

    const annStream = await openStream(t, ann.headers);
    expect((await annStream.take(1))[0]?.type).toBe("ready");
    const read = await api.ok<{ seq: number; unread: number }>(
      await api.call("POST", `/rooms/${roomId}/threads/${root.id}/read`, ann, { seq: first.seq }),
    );
    expect(read).toMatchObject({ rootId: root.id, seq: first.seq, unread: 1 });
    const [event] = await annStream.take(1);
    expect(event).toMatchObject({ type: "thread.read", data: { rootId: root.id, seq: first.seq, unread: 1 } });
    // Never back, never past the last reply.
    const back = await api.call("POST", `/rooms/${roomId}/threads/${root.id}/read`, ann, { seq: 0 });
    expect((await api.ok<{ seq: number }>(back)).seq).toBe(first.seq);
    const far = await api.call("POST", `/rooms/${roomId}/threads/${root.id}/read`, ann, { seq: 10_000 });
    expect((await api.ok<{ seq: number }>(far)).seq).toBe(second.seq);
    // The notifications of what was read are read.
    expect((await notificationsOf(ann)).length).toBeGreaterThan(0);
    const unreadNotes = await api.ok<{ unread: number }>(await api.call("GET", "/notifications", ann));
    expect(unreadNotes.unread).toBe(0);

    await say(ben, roomId, "three", { threadRootId: root.id });
    expect((await thread(ann, roomId, root.id)).root.thread?.unread).toBe(1);
    await say(ann, roomId, "thanks", { threadRootId: root.id });
    expect((await thread(ann, roomId, root.id)).root.thread?.unread).toBe(0);
    await annStream.close();
  });

  it("also sends to the room when asked", async () => {
    const [ann, ben] = [await api.signUp("ann"), await api.signUp("ben")];
    const roomId = await publicRoom(ann, ben);
    const root = await say(ann, roomId, "vote");
    const both = await say(ben, roomId, "yes, and everyone should know", { threadRootId: root.id, alsoInRoom: true });
    expect([both.threadRootId, both.alsoInRoom]).toEqual([root.id, true]);
    const listed = await history(ann, roomId);
    expect(listed.find((m) => m.id === both.id)?.alsoInRoom).toBe(true);
    expect((await thread(ann, roomId, root.id)).messages.map((m) => m.id)).toEqual([both.id]);
  });

  it("refuses what is not a thread of the room, and writes nothing", async () => {
    const [ann, ben] = [await api.signUp("ann"), await api.signUp("ben")];
    const roomId = await publicRoom(ann, ben);
    const otherRoom = await publicRoom(ben);
    const elsewhere = await say(ben, otherRoom, "elsewhere");
    const count = async () =>
      Number(
        (await rows<{ n: number }>(t, sql`select count(*)::int as n from messages where room_id = ${roomId}`))[0]?.n,
      );
    const before = await count();
    const refused = await expectProblem(
      await send(ann, roomId, { content: "hi", threadRootId: elsewhere.id }),
      422,
      "validation_failed",
    );
    expect(JSON.stringify(refused.details)).toContain("threadRootId");
    await expectProblem(await send(ann, roomId, { content: "hi", alsoInRoom: true }), 422, "validation_failed");
    await expectProblem(await send(ann, roomId, { content: "hi", threadRootId: "nope" }), 422, "validation_failed");
    await expectProblem(await send(ann, roomId, { content: "hi", alsoInRoom: "yes" }), 422, "validation_failed");
    expect(await count()).toBe(before);

    await expectProblem(
      await api.call("GET", `/rooms/${roomId}/threads/${elsewhere.id}`, ann),
      404,
      "message_not_found",
    );
    await expectProblem(await api.call("GET", `/rooms/${otherRoom}/threads/${elsewhere.id}`, ann), 403, "not_a_member");
    await expectProblem(await api.call("GET", `/rooms/${roomId}/threads/x`, ann), 422, "validation_failed");
    await expectProblem(
      await api.call("POST", `/rooms/${roomId}/threads/${elsewhere.id}/read`, ann, { seq: 1 }),
      404,
      "message_not_found",
    );
    await expectProblem(
      await api.call("POST", `/rooms/${roomId}/threads/${elsewhere.id}/read`, ann, { seq: "1" }),
      422,
      "validation_failed",
    );
  });
});
