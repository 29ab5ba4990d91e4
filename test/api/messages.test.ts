import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { png } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

interface Message {
  id: string;
  seq: number;
  content: string;
  html: string;
  replyTo: { id: string; snippet: string; deleted: boolean } | null;
  reactions: { emoji: string; count: number; me: boolean }[];
  editedAt: string | null;
  deletedAt: string | null;
  author: { id: string; handle: string } | null;
}

async function user(name: string) {
  const res = await t.request("/api/v1/auth/register", json("POST", { username: name, password: "correct horse" }));
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, headers: bearer(body.accessToken) };
}
type User = Awaited<ReturnType<typeof user>>;

async function room(owner: User, visibility: "public" | "private" = "public") {
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Room", visibility }, owner.headers));
  return ((await res.json()) as { id: string }).id;
}

const send = (who: User, roomId: string, txn: string, body: Record<string, unknown>) =>
  t.request(`/api/v1/rooms/${roomId}/messages/${txn}`, json("PUT", body, who.headers));

async function sent(who: User, roomId: string, txn: string, content: string, replyTo?: string) {
  const res = await send(who, roomId, txn, { content, ...(replyTo ? { replyTo } : {}) });
  expect(res.status).toBe(201);
  return (await res.json()) as Message;
}

async function history(who: User, roomId: string, query = "") {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages${query}`, { headers: who.headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Message[] }).messages;
}

async function code(res: Response) {
  return ((await res.json()) as { code: string }).code;
}

let alice: User;
let bob: User;
let eve: User;
beforeAll(async () => {
  alice = await user("alice");
  bob = await user("bob");
  eve = await user("eve");
});

describe("sending", () => {
  it("numbers messages 1, 2, 3… per room and answers a retried txnId with the same message", async () => {
    const r = await room(alice);
    const first = await sent(alice, r, "a1", "one");
    const second = await sent(alice, r, "a2", "two");
    expect([first.seq, second.seq]).toEqual([1, 2]);
    const retry = await send(alice, r, "a1", { content: "one" });
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as Message).id).toBe(first.id);
    expect((await history(alice, r)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it("keeps concurrent retries of one txnId to one message, and concurrent sends gap-free", async () => {
    const r = await room(alice);
    const retries = await Promise.all(Array.from({ length: 8 }, () => send(alice, r, "same", { content: "once" })));
    const ids = new Set(await Promise.all(retries.map(async (res) => ((await res.json()) as Message).id)));
    expect(ids.size).toBe(1);
    expect(retries.filter((res) => res.status === 201)).toHaveLength(1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(alice, r, `c${i}`, { content: `c${i}` })));
    const seqs = (await history(alice, r, "?limit=100")).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it("stores the source and serves sanitised HTML: markup renders, HTML stays inert", async () => {
    const r = await room(alice);
    const m = await sent(alice, r, "x", "**bold** `code` <img src=1 onerror=alert(1)> [x](javascript:alert(1))");
    expect(m.content).toBe("**bold** `code` <img src=1 onerror=alert(1)> [x](javascript:alert(1))");
    expect(m.html).toContain("<strong>bold</strong>");
    expect(m.html).toContain("<code>code</code>");
    expect(m.html).toContain("&lt;img src=1 onerror=alert(1)&gt;");
    expect(m.html).not.toMatch(/<img|href="javascript:/);
    expect(m.html).toContain("[x](javascript:alert(1))");
  });

  it("links mentions of local users", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    const m = await sent(alice, r, "mention", "hey @bob and @nobody_here and @bob@chat.example");
    expect(m.html).toContain('<a class="mention" href="https://chat.example/users/bob"');
    expect(m.html).toContain("@nobody_here");
    expect(m.html).not.toContain("/users/nobody_here");
    const rooms = (await (await t.request("/api/v1/rooms", { headers: bob.headers })).json()) as {
      rooms: { id: string; unread: number; mentions: number }[];
    };
    expect(rooms.rooms.find((x) => x.id === r)).toMatchObject({ unread: 1, mentions: 1 });
  });

  it.each([
    ["an empty message", { content: "   " }, 422],
    ["4001 characters", { content: "x".repeat(4001) }, 422],
    ["no content", {}, 422],
    ["a malformed reply id", { content: "x", replyTo: "nope" }, 422],
  ])("refuses %s and stores nothing", async (_, body, status) => {
    const r = await room(alice);
    const res = await send(alice, r, "bad", body);
    expect(res.status).toBe(status);
    expect(await code(res)).toBe("validation_failed");
    expect(await history(alice, r)).toEqual([]);
  });

  it("accepts exactly 4000 characters", async () => {
    const r = await room(alice);
    expect((await send(alice, r, "max", { content: "y".repeat(4000) })).status).toBe(201);
  });

  it("refuses a reply to another room's message", async () => {
    const r1 = await room(alice);
    const r2 = await room(alice);
    const elsewhere = await sent(alice, r1, "e", "elsewhere");
    const res = await send(alice, r2, "reply", { content: "re", replyTo: elsewhere.id });
    expect(res.status).toBe(422);
    expect(await history(alice, r2)).toEqual([]);
  });

  it("refuses non-members and outsiders, without revealing private rooms", async () => {
    const pub = await room(alice, "public");
    const priv = await room(alice, "private");
    const notMember = await send(eve, pub, "x", { content: "hi" });
    expect([notMember.status, await code(notMember)]).toEqual([403, "not_a_member"]);
    const hidden = await send(eve, priv, "x", { content: "hi" });
    expect([hidden.status, await code(hidden)]).toEqual([404, "room_not_found"]);
    const read = await t.request(`/api/v1/rooms/${priv}/messages`, { headers: eve.headers });
    expect(read.status).toBe(404);
    expect((await t.request(`/api/v1/rooms/${pub}/messages`, { headers: eve.headers })).status).toBe(403);
  });

  it.each(["conv1", "..%2Fx", "x".repeat(200)])("refuses the txnId or room id %s before storage", async (bad) => {
    const r = await room(alice);
    expect(
      (await t.request(`/api/v1/rooms/${r}/messages/${bad}`, json("PUT", { content: "x" }, alice.headers))).status,
    ).toBe(bad === "conv1" ? 201 : 422);
    expect(
      (await t.request(`/api/v1/rooms/${bad}/messages/t`, json("PUT", { content: "x" }, alice.headers))).status,
    ).toBe(422);
  });
});

describe("replies, edits and deletes", () => {
  it("quotes the message replied to, and the chain holds after it is deleted", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    const original = await sent(alice, r, "o", "the **original** message");
    const reply = await sent(bob, r, "r", "a reply", original.id);
    expect(reply.replyTo).toMatchObject({ id: original.id, snippet: "the original message", deleted: false });
    expect(
      (await t.request(`/api/v1/rooms/${r}/messages/${original.id}`, { method: "DELETE", headers: alice.headers }))
        .status,
    ).toBe(204);
    const [gone, kept] = await history(bob, r);
    expect(gone).toMatchObject({ id: original.id, seq: 1, content: "", html: "" });
    expect(gone?.deletedAt).not.toBeNull();
    expect(kept?.replyTo).toMatchObject({ id: original.id, snippet: "", deleted: true });
  });

  it("lets the author edit, keeps the history, and refuses others", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    const m = await sent(alice, r, "e", "first");
    const edit = (content: string, who = alice) =>
      t.request(`/api/v1/rooms/${r}/messages/${m.id}`, json("PATCH", { content }, who.headers));
    expect((await edit("second")).status).toBe(200);
    expect((await edit("third")).status).toBe(200);
    const byBob = await edit("hacked", bob);
    expect([byBob.status, await code(byBob)]).toEqual([403, "forbidden"]);
    const [current] = await history(alice, r);
    expect(current).toMatchObject({ content: "third" });
    expect(current?.editedAt).not.toBeNull();
    const edits = (await (
      await t.request(`/api/v1/rooms/${r}/messages/${m.id}/edits`, { headers: bob.headers })
    ).json()) as {
      edits: { content: string }[];
    };
    expect(edits.edits.map((e) => e.content)).toEqual(["first", "second"]);
  });

  it("lets a moderator delete a member's message but not a member delete another's", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: eve.headers });
    const byBob = await sent(bob, r, "b", "bob's");
    const byEve = await t.request(`/api/v1/rooms/${r}/messages/${byBob.id}`, {
      method: "DELETE",
      headers: eve.headers,
    });
    expect([byEve.status, await code(byEve)]).toEqual([403, "forbidden"]);
    await t.request(`/api/v1/rooms/${r}/members/${eve.id}/role`, json("PUT", { role: "moderator" }, alice.headers));
    expect(
      (await t.request(`/api/v1/rooms/${r}/messages/${byBob.id}`, { method: "DELETE", headers: eve.headers })).status,
    ).toBe(204);
    const log = (await (await t.request(`/api/v1/rooms/${r}/moderation-log`, { headers: alice.headers })).json()) as {
      entries: { action: string; targetMessageId: string | null }[];
    };
    expect(log.entries[0]).toMatchObject({ action: "message.deleted", targetMessageId: byBob.id });
    const row = await t.testDatabase.db.select().from(messages).where(eq(messages.id, byBob.id));
    expect(row[0]).toMatchObject({ content: "", html: "" });
  });
});

describe("reactions", () => {
  it("counts reactions per emoji, several per user, one per emoji, with who reacted", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    const m = await sent(alice, r, "m", "react to me");
    const put = (who: User, emoji: string) =>
      t.request(`/api/v1/rooms/${r}/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`, {
        method: "PUT",
        headers: who.headers,
      });
    for (const [who, emoji] of [
      [alice, "👍"],
      [bob, "👍"],
      [bob, "👍"],
      [bob, "👨‍👩‍👧"],
      [alice, ":party_parrot:"],
    ] as const) {
      expect((await put(who, emoji)).status).toBe(204);
    }
    const [view] = await history(bob, r);
    expect(view?.reactions).toEqual([
      { emoji: "👍", count: 2, me: true },
      { emoji: "👨‍👩‍👧", count: 1, me: true },
      { emoji: ":party_parrot:", count: 1, me: false },
    ]);
    const who = (await (
      await t.request(`/api/v1/rooms/${r}/messages/${m.id}/reactions`, { headers: alice.headers })
    ).json()) as {
      reactions: { emoji: string; actors: { id: string }[] }[];
    };
    expect(who.reactions[0]?.actors.map((a) => a.id)).toEqual([alice.id, bob.id]);
    await t.request(`/api/v1/rooms/${r}/messages/${m.id}/reactions/${encodeURIComponent("👍")}`, {
      method: "DELETE",
      headers: bob.headers,
    });
    const [after] = await history(bob, r);
    expect(after?.reactions[0]).toEqual({ emoji: "👍", count: 1, me: false });
  });

  it("takes Emoji 17's newest and the picker's forms of old ones, under one key each", async () => {
    const r = await room(alice);
    const m = await sent(alice, r, "m", "new emoji");
    // 🫪 distorted face and 🫍 orca (Emoji 17.0); emojibase writes 👍 with a needless U+FE0F.
    for (const emoji of ["🫪", "🫍", "👍\uFE0F", "👍", "🧑🏾‍🤝‍🧑🏻"]) {
      const path = `/api/v1/rooms/${r}/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`;
      expect((await t.request(path, { method: "PUT", headers: alice.headers })).status).toBe(204);
    }
    expect((await history(alice, r))[0]?.reactions.map((x) => [x.emoji, x.count])).toEqual([
      ["🫪", 1],
      ["🫍", 1],
      ["👍", 1],
      ["🧑🏾‍🤝‍🧑🏻", 1],
    ]);
  });

  it.each(["a", "👍👍", "👍a", ":bad name:", "%E2%80%8B"])("refuses %s as a reaction", async (emoji) => {
    const r = await room(alice);
    const m = await sent(alice, r, "m", "x");
    const res = await t.request(
      `/api/v1/rooms/${r}/messages/${m.id}/reactions/${emoji.startsWith("%") ? emoji : encodeURIComponent(emoji)}`,
      {
        method: "PUT",
        headers: alice.headers,
      },
    );
    expect(res.status).toBe(422);
    expect((await history(alice, r))[0]?.reactions).toEqual([]);
  });
});

describe("history and read markers", () => {
  it("pages by sequence with before, after and limit, always ascending", async () => {
    const r = await room(alice);
    for (let i = 1; i <= 12; i++) await sent(alice, r, `h${i}`, `m${i}`);
    expect((await history(alice, r, "?limit=5")).map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    expect((await history(alice, r, "?before=8&limit=3")).map((m) => m.seq)).toEqual([5, 6, 7]);
    expect((await history(alice, r, "?after=9")).map((m) => m.seq)).toEqual([10, 11, 12]);
    expect((await history(alice, r, "?after=2&before=6")).map((m) => m.seq)).toEqual([3, 4, 5]);
    for (const bad of ["?limit=0", "?limit=101", "?before=-1", "?after=x"]) {
      expect((await t.request(`/api/v1/rooms/${r}/messages${bad}`, { headers: alice.headers })).status).toBe(422);
    }
  });

  it("moves the read marker forward only, and the room list follows", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    for (let i = 1; i <= 5; i++) await sent(alice, r, `u${i}`, i === 3 ? "@bob look" : `m${i}`);
    const list = async () =>
      (
        (await (await t.request("/api/v1/rooms", { headers: bob.headers })).json()) as {
          rooms: { id: string; unread: number; mentions: number }[];
        }
      ).rooms.find((x) => x.id === r);
    expect(await list()).toMatchObject({ unread: 5, mentions: 1 });
    const read = async (seq: number) =>
      (await (await t.request(`/api/v1/rooms/${r}/read`, json("POST", { seq }, bob.headers))).json()) as Record<
        string,
        number
      >;
    expect(await read(3)).toMatchObject({ seq: 3, unread: 2, mentions: 0 });
    expect(await read(1)).toMatchObject({ seq: 3 });
    expect(await read(999)).toMatchObject({ seq: 5, unread: 0 });
    expect(await list()).toMatchObject({ unread: 0, mentions: 0 });
  });
});

describe("direct messages", () => {
  it("gives a pair the same private, direct room each time, from either side", async () => {
    const open = async (who: User, users: string[]) =>
      (await t.request("/api/v1/dms", json("POST", { users }, who.headers))).json() as Promise<{
        id: string;
        direct: boolean;
        visibility: string;
      }>;
    const first = await open(alice, ["bob"]);
    const again = await open(alice, ["bob@chat.example"]);
    const reverse = await open(bob, ["alice"]);
    expect(first).toMatchObject({ direct: true, visibility: "private" });
    expect(new Set([first.id, again.id, reverse.id]).size).toBe(1);
    const group = await open(alice, ["bob", "eve"]);
    expect(group.id).not.toBe(first.id);
    const outsider = await t.request(`/api/v1/rooms/${first.id}`, { headers: eve.headers });
    expect(outsider.status).toBe(404);
  });

  it("refuses a conversation with oneself, an unknown user, or more than ten people", async () => {
    const res = (users: string[]) => t.request("/api/v1/dms", json("POST", { users }, alice.headers));
    expect((await res(["alice"])).status).toBe(422);
    expect((await res(["nobody_at_all"])).status).toBe(404);
    expect((await res(Array.from({ length: 10 }, (_, i) => `u${i}xx`))).status).toBe(422);
  });
});

describe("room avatars", () => {
  it("lets admins set the room's avatar from an image's bytes, and refuses members and SVG", async () => {
    const r = await room(alice);
    await t.request(`/api/v1/rooms/${r}/join`, { method: "POST", headers: bob.headers });
    const upload = (who: User, bytes: Uint8Array, name = "a.png") => {
      const form = new FormData();
      form.set("file", new File([new Uint8Array(bytes)], name, { type: "image/png" }));
      return t.request(`/api/v1/rooms/${r}/avatar`, { method: "PUT", headers: who.headers, body: form });
    };
    const ok = await upload(alice, png(8, 8));
    expect(ok.status).toBe(200);
    const { avatarUrl } = (await ok.json()) as { avatarUrl: string };
    expect(avatarUrl).toMatch(/^https:\/\/chat\.example\/media\/avatars\/[0-9a-f-]{36}\.png$/);
    const served = await t.request(new URL(avatarUrl).pathname);
    expect(served.headers.get("content-type")).toBe("image/png");
    const byMember = await upload(bob, png(8, 8));
    expect([byMember.status, await code(byMember)]).toEqual([403, "forbidden"]);
    const svg = await upload(alice, new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'), "a.png");
    expect([svg.status, await code(svg)]).toEqual([415, "unsupported_media_type"]);
    const removed = await t.request(`/api/v1/rooms/${r}/avatar`, { method: "DELETE", headers: alice.headers });
    expect(((await removed.json()) as { avatarUrl: string | null }).avatarUrl).toBeNull();
    expect((await t.request(new URL(avatarUrl).pathname)).status).toBe(404);
  });
});

describe("blocks", () => {
  it("keeps a blocked user from opening a conversation with the blocker, either way round", async () => {
    const mia = await user("mia");
    const ned = await user("ned");
    const blocked = await t.request("/api/v1/blocks", json("POST", { user: "ned" }, mia.headers));
    expect(blocked.status).toBe(200);
    const list = (await (await t.request("/api/v1/blocks", { headers: mia.headers })).json()) as {
      blocks: { actor: { id: string } }[];
    };
    expect(list.blocks.map((b) => b.actor.id)).toEqual([ned.id]);
    for (const [who, other] of [
      [ned, "mia"],
      [mia, "ned"],
    ] as const) {
      const res = await t.request("/api/v1/dms", json("POST", { users: [other] }, who.headers));
      expect([res.status, await code(res)]).toEqual([403, "forbidden"]);
    }
    const group = await t.request("/api/v1/dms", json("POST", { users: ["mia", "alice"] }, ned.headers));
    expect(group.status).toBe(403);
    expect((await t.request("/api/v1/blocks/ned", { method: "DELETE", headers: mia.headers })).status).toBe(204);
    expect((await t.request("/api/v1/dms", json("POST", { users: ["mia"] }, ned.headers))).status).toBe(200);
    const self = await t.request("/api/v1/blocks", json("POST", { user: "mia" }, mia.headers));
    expect(self.status).toBe(422);
  });
});
