import { sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PreparedSend, SendBatcher } from "../../../src/messages/send-batch.ts";
import { apiClient, type Client, rows } from "../../api/support.ts";
import { createTestInstance, type TestInstance } from "../../helpers/instance.ts";

// Group commit of sends (issue 13): concurrent sends share statements, and every guarantee of
// one send at a time still holds.

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

const api = apiClient(() => t);

async function room(owner: Client, ...members: Client[]): Promise<string> {
  const { id } = await api.ok<{ id: string }>(
    await api.call("POST", "/rooms", owner, { name: "Busy", visibility: "public" }),
    201,
  );
  for (const member of members) await api.ok(await api.call("POST", `/rooms/${id}/join`, member));
  return id;
}

const send = (who: Client, roomId: string, txnId: string, content = txnId) =>
  api.call("PUT", `/rooms/${roomId}/messages/${txnId}`, who, { content });

/** The numbers of a room's messages, and the stream positions of their events, by number. */
async function numbered(roomId: string) {
  const seqs = await rows<{ seq: string }>(t, sql`select seq from messages where room_id = ${roomId} order by seq`);
  const events = await rows<{ seq: string }>(
    t,
    sql`select data->'message'->>'seq' as seq from events
        where room_id = ${roomId} and type = 'message.created' order by position`,
  );
  return { seqs: seqs.map((r) => Number(r.seq)), eventSeqs: events.map((r) => Number(r.seq)) };
}

async function actorOf(client: Client): Promise<string> {
  const [row] = await rows<{ id: string }>(t, sql`select id from actors where user_id = ${client.id}`);
  return row?.id ?? client.id;
}

/** A send made by hand, for what the API would refuse before it reaches the batcher. */
function prepared(roomId: string, authorId: string, txnId: string, extra: Partial<PreparedSend> = {}): PreparedSend {
  const createdAt = new Date().toISOString();
  const id = uuidv7();
  return {
    id,
    roomId,
    authorId,
    txnId,
    content: txnId,
    html: `<p>${txnId}</p>`,
    replyTo: null,
    threadRootId: null,
    alsoInRoom: false,
    createdAt,
    attachments: [],
    mentioned: [],
    replyAuthor: null,
    direct: false,
    snippet: txnId,
    author: null,
    view: {
      id,
      roomId,
      url: `${t.deps.config.origin}/messages/${id}`,
      author: null,
      content: txnId,
      html: `<p>${txnId}</p>`,
      replyTo: null,
      reactions: [],
      threadRootId: null,
      alsoInRoom: false,
      thread: null,
      attachments: [],
      previews: [],
      emojis: [],
      editedAt: null,
      deletedAt: null,
      createdAt,
    },
    ...extra,
  };
}

describe("sending in batches", () => {
  it("writes concurrent sends to several rooms in fewer statements, gap-free, events in number order", async () => {
    const [ann, ben, cat] = [await api.signUp("ann"), await api.signUp("ben"), await api.signUp("cat")];
    const rooms = [await room(ann, ben, cat), await room(ben, ann, cat), await room(cat, ann, ben)];
    const before = { statements: t.deps.sends.statements, sends: t.deps.sends.sends };
    const sends = rooms.flatMap((roomId, r) =>
      [ann, ben, cat].flatMap((who, w) => Array.from({ length: 20 }, (_, i) => send(who, roomId, `r${r}w${w}m${i}`))),
    );
    const answers = await Promise.all(sends);
    expect(answers.map((res) => res.status)).toEqual(answers.map(() => 201));
    for (const roomId of rooms) {
      const { seqs, eventSeqs } = await numbered(roomId);
      expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(eventSeqs).toEqual(seqs);
    }
    const statements = t.deps.sends.statements - before.statements;
    expect(t.deps.sends.sends - before.sends).toBe(180);
    expect(statements).toBeLessThan(180);
  });

  it("keeps concurrent retries of a txnId, in one batch and across batchers, to one message", async () => {
    const [dan, eve] = [await api.signUp("dan"), await api.signUp("eve")];
    const roomId = await room(dan, eve);
    const dans = await actorOf(dan);
    // A second batcher on the same database stands for another process.
    const other = new SendBatcher(t.database.db);
    const outcomes = await Promise.all([
      ...Array.from({ length: 5 }, () => t.deps.sends.send(prepared(roomId, dans, "same"))),
      ...Array.from({ length: 5 }, () => other.send(prepared(roomId, dans, "same"))),
    ]);
    const created = outcomes.filter((o) => o.outcome === "created");
    expect(created).toHaveLength(1);
    const [message] = await rows<{ id: string; seq: string }>(
      t,
      sql`select id, seq from messages where room_id = ${roomId} and txn_id = 'same'`,
    );
    for (const outcome of outcomes.filter((o) => o.outcome !== "created")) {
      expect(outcome).toEqual({ outcome: "retried", id: message?.id });
    }
    expect((await numbered(roomId)).seqs).toEqual([1]);
    // Through the API, the retry answers with the first message and 200.
    const again = await send(dan, roomId, "same");
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(message?.id);
  });

  it("refuses a non-member's send in a batch and writes the others", async () => {
    const [fay, gus] = [await api.signUp("fay"), await api.signUp("gus")];
    const roomId = await room(fay);
    const [fays, guss] = [await actorOf(fay), await actorOf(gus)];
    const outcomes = await Promise.all([
      t.deps.sends.send(prepared(roomId, fays, "a")),
      t.deps.sends.send(prepared(roomId, guss, "intruder")),
      t.deps.sends.send(prepared(roomId, fays, "b")),
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(["created", "not_a_member", "created"]);
    expect((await numbered(roomId)).seqs).toEqual([1, 2]);
    const positions = await rows<{ n: string }>(
      t,
      sql`select count(*) as n from events where room_id = ${roomId} and type = 'message.created'`,
    );
    expect(Number(positions[0]?.n)).toBe(2);
  });

  it("writes the rest of a batch that one broken send makes fail, one at a time", async () => {
    const hal = await api.signUp("hal");
    const roomId = await room(hal);
    const hals = await actorOf(hal);
    const results = await Promise.allSettled([
      t.deps.sends.send(prepared(roomId, hals, "ok1")),
      t.deps.sends.send(prepared(roomId, hals, "broken", { replyTo: "not a uuid" })),
      t.deps.sends.send(prepared(roomId, hals, "ok2")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await numbered(roomId)).seqs).toEqual([1, 2]);
  });

  it("numbers, notifies and marks read as a single send did", async () => {
    const [ida, jon] = [await api.signUp("ida"), await api.signUp("jon")];
    const roomId = await room(ida, jon);
    await api.ok(await send(jon, roomId, "first", "hello"), 201);
    const answers = await Promise.all([
      send(ida, roomId, "m1", `hi @${jon.username}`),
      send(ida, roomId, "m2", "no mention"),
    ]);
    expect(answers.map((r) => r.status)).toEqual([201, 201]);
    const notes = await rows<{ type: string }>(
      t,
      sql`select n.type from notifications n join actors a on a.id = n.actor_id
          where a.user_id = ${jon.id} and n.room_id = ${roomId}`,
    );
    expect(notes.map((n) => n.type)).toEqual(["mention"]);
    const mentions = await rows<{ seq: string }>(t, sql`select seq from message_mentions where room_id = ${roomId}`);
    expect(mentions).toHaveLength(1);
    const [marker] = await rows<{ last_read_seq: string }>(
      t,
      sql`select m.last_read_seq from room_members m join actors a on a.id = m.actor_id
          where a.user_id = ${ida.id} and m.room_id = ${roomId}`,
    );
    expect(Number(marker?.last_read_seq)).toBe(3);
    // The notification's event carries the view the API lists.
    const [event] = await rows<{ data: { notification: { type: string; actor: { id: string } } } }>(
      t,
      sql`select e.data from events e join actors a on a.id = e.actor_id
          where a.user_id = ${jon.id} and e.type = 'notification' order by e.position desc limit 1`,
    );
    const listed = await api.ok<{ notifications: unknown[] }>(await api.call("GET", "/notifications", jon));
    expect(event?.data.notification).toEqual(listed.notifications[0]);
  });
});
