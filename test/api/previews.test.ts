import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, linkPreviews } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { type PageServer, startPageServer } from "../helpers/pages.ts";

interface Card {
  url: string;
  title: string | null;
  description: string | null;
  siteName: string | null;
  image: { url: string; width: number; height: number } | null;
}
interface Message {
  id: string;
  previews: Card[];
}

let t: TestInstance;
let pages: PageServer;
beforeAll(async () => {
  pages = await startPageServer();
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000", FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" });
});
afterAll(async () => {
  await t.dispose();
  await pages.close();
});

async function user(name: string) {
  const res = await t.request("/api/v1/auth/register", json("POST", { username: name, password: "correct horse" }));
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, headers: bearer(body.accessToken) };
}
type User = Awaited<ReturnType<typeof user>>;

async function room(owner: User) {
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Links", visibility: "public" }, owner.headers));
  return ((await res.json()) as { id: string }).id;
}

let txn = 0;
async function send(who: User, roomId: string, content: string): Promise<Message> {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages/t${++txn}`, json("PUT", { content }, who.headers));
  expect(res.status).toBe(201);
  return (await res.json()) as Message;
}

async function history(who: User, roomId: string): Promise<Message[]> {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: who.headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Message[] }).messages;
}

async function cardsOf(who: User, roomId: string, messageId: string): Promise<Card[]> {
  // The fetch runs after the send, in the background: wait for it, then read.
  await t.deps.previews.settled();
  const found = (await history(who, roomId)).find((m) => m.id === messageId);
  return found?.previews ?? [];
}

async function previewEvents(messageId: string) {
  const rows = await t.deps.db
    .select()
    .from(events)
    .where(eq(events.type, "message.previews"))
    .orderBy(events.position);
  return rows.filter((r) => (r.data as { messageId: string }).messageId === messageId);
}

describe("link previews", () => {
  let alice: User;
  let bob: User;
  let roomId: string;
  beforeAll(async () => {
    alice = await user("alice");
    bob = await user("bob");
    roomId = await room(alice);
    await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: bob.headers });
  });

  it("gives a link to a page with Open Graph tags a card with its image served from here", async () => {
    const sent = await send(alice, roomId, `look ${pages.origin}/og#part`);
    expect(sent.previews).toEqual([]);
    const [card] = await cardsOf(bob, roomId, sent.id);
    expect(card).toMatchObject({
      url: `${pages.origin}/og`,
      title: "The & Open Graph title",
      description: "What the page says",
      siteName: "Example Site",
    });
    expect(card?.image?.url).toMatch(/^https:\/\/chat\.example\/media\/link-previews\/[0-9a-f]{64}\.webp$/);
    expect(card?.image).toMatchObject({ width: 64, height: 32 });
    const image = await t.request(new URL(card?.image?.url ?? "").pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/webp");
    expect(image.headers.get("content-security-policy")).toContain("sandbox");
    // Open clients learn of it live.
    const [event] = await previewEvents(sent.id);
    expect((event?.data as { previews: Card[] } | undefined)?.previews[0]?.title).toBe("The & Open Graph title");
  });

  it("reads Twitter card tags, and a plain title in the page's declared charset", async () => {
    const tweet = await send(alice, roomId, `${pages.origin}/twitter`);
    const [card] = await cardsOf(alice, roomId, tweet.id);
    expect(card?.title).toBe("Tweet title");
    expect(card?.description?.length).toBeLessThanOrEqual(400);
    expect(card?.description?.endsWith("…")).toBe(true);
    const plain = await send(alice, roomId, `${pages.origin}/title`);
    expect(await cardsOf(alice, roomId, plain.id)).toMatchObject([
      { title: "Café page", description: "Plain", siteName: null, image: null },
    ]);
  });

  it("reads only the start of a huge page, and gives none to a slow page or a file", async () => {
    const huge = await send(alice, roomId, `${pages.origin}/huge`);
    expect((await cardsOf(alice, roomId, huge.id))[0]?.title).toBe("Huge page");
    const others = await send(alice, roomId, `${pages.origin}/slow and ${pages.origin}/file`);
    expect(await cardsOf(alice, roomId, others.id)).toEqual([]);
    const failed = await t.deps.db.select().from(linkPreviews).where(eq(linkPreviews.status, "failed"));
    expect(Object.fromEntries(failed.map((r) => [new URL(r.url).pathname, r.error]))).toMatchObject({
      "/slow": "timeout",
      "/file": "media_type",
    });
  });

  it("fetches a link once for many messages, and the first three links only", async () => {
    const before = pages.hits.get("/og") ?? 0;
    const again = await send(bob, roomId, `${pages.origin}/og again`);
    const many = await send(
      bob,
      roomId,
      `${pages.origin}/og ${pages.origin}/twitter ${pages.origin}/title ${pages.origin}/huge ${t.origin}/rooms/x`,
    );
    expect((await cardsOf(bob, roomId, again.id))[0]?.title).toBe("The & Open Graph title");
    expect((await cardsOf(bob, roomId, many.id)).map((c) => new URL(c.url).pathname)).toEqual([
      "/og",
      "/twitter",
      "/title",
    ]);
    expect(pages.hits.get("/og")).toBe(before);
    // Cached already: the cards were announced at once.
    expect(await previewEvents(again.id)).toHaveLength(1);
  });

  it("coalesces concurrent fetches of one link, and fetches an expired one again when read", async () => {
    const url = `${pages.origin}/title?twice`;
    const [one, two] = await Promise.all([send(alice, roomId, url), send(bob, roomId, url)]);
    expect((await cardsOf(alice, roomId, one.id))[0]?.title).toBe("Café page");
    expect((await cardsOf(alice, roomId, two.id))[0]?.title).toBe("Café page");
    expect(pages.hits.get("/title?twice")).toBe(1);
    await t.deps.db
      .update(linkPreviews)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(linkPreviews.url, url));
    // The stale card still shows while the read starts a fetch in the background.
    expect((await history(bob, roomId)).find((m) => m.id === one.id)?.previews).toHaveLength(1);
    await t.deps.previews.settled();
    expect(pages.hits.get("/title?twice")).toBe(2);
  });

  it("fetches the cards of a message that has none when it is first read", async () => {
    const lazy = await room(alice);
    await t.request(`/api/v1/rooms/${lazy}`, json("PATCH", { linkPreviews: false }, alice.headers));
    const sent = await send(alice, lazy, `${pages.origin}/og?lazy`);
    await t.deps.previews.settled();
    expect(pages.hits.get("/og?lazy")).toBeUndefined();
    await t.request(`/api/v1/rooms/${lazy}`, json("PATCH", { linkPreviews: true }, alice.headers));
    expect((await history(alice, lazy))[0]?.previews).toEqual([]);
    await t.deps.previews.settled();
    expect(pages.hits.get("/og?lazy")).toBe(1);
    expect(await cardsOf(alice, lazy, sent.id)).toHaveLength(1);
    expect(await previewEvents(sent.id)).toHaveLength(1);
  });

  it("lets the sender, and nobody else, remove a message's cards", async () => {
    const sent = await send(alice, roomId, `${pages.origin}/og`);
    expect(await cardsOf(alice, roomId, sent.id)).toHaveLength(1);
    const path = `/api/v1/rooms/${roomId}/messages/${sent.id}/previews`;
    const refused = await t.request(path, { method: "DELETE", headers: bob.headers });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("forbidden");
    expect(await cardsOf(alice, roomId, sent.id)).toHaveLength(1);
    expect((await t.request(path, { method: "DELETE", headers: alice.headers })).status).toBe(204);
    expect(await cardsOf(bob, roomId, sent.id)).toEqual([]);
    const last = (await previewEvents(sent.id)).at(-1);
    expect((last?.data as { previews: Card[] } | undefined)?.previews).toEqual([]);
    const bad = await t.request(`/api/v1/rooms/${roomId}/messages/nope/previews`, {
      method: "DELETE",
      headers: alice.headers,
    });
    expect(bad.status).toBe(422);
  });

  it("lets a moderator turn a room's previews off, and a user their own", async () => {
    const other = await room(alice);
    await t.request(`/api/v1/rooms/${other}/join`, { method: "POST", headers: bob.headers });
    const off = await t.request(`/api/v1/rooms/${other}`, json("PATCH", { linkPreviews: false }, bob.headers));
    expect(off.status).toBe(403);
    const patched = await t.request(`/api/v1/rooms/${other}`, json("PATCH", { linkPreviews: false }, alice.headers));
    expect(((await patched.json()) as { linkPreviews: boolean }).linkPreviews).toBe(false);
    const quiet = await send(alice, other, `${pages.origin}/og`);
    expect(await cardsOf(alice, other, quiet.id)).toEqual([]);

    const carol = await user("carol");
    await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: carol.headers });
    const set = await t.request("/api/v1/me/link-previews", json("PUT", { enabled: false }, carol.headers));
    expect(await set.json()).toEqual({ enabled: false });
    expect(await (await t.request("/api/v1/me/link-previews", { headers: carol.headers })).json()).toEqual({
      enabled: false,
    });
    const invalid = await t.request("/api/v1/me/link-previews", json("PUT", { enabled: "no" }, carol.headers));
    expect(invalid.status).toBe(422);
    // Carol sees none, and her own messages get none, for anyone.
    const byCarol = await send(carol, roomId, `${pages.origin}/twitter`);
    expect(await cardsOf(alice, roomId, byCarol.id)).toEqual([]);
    const byAlice = await send(alice, roomId, `${pages.origin}/og`);
    expect(await cardsOf(carol, roomId, byAlice.id)).toEqual([]);
    expect(await cardsOf(bob, roomId, byAlice.id)).toHaveLength(1);
  });
});

describe("link previews with private addresses refused", () => {
  let strict: TestInstance;
  afterAll(async () => strict?.dispose());

  it("gives a link to 127.0.0.1 no card and makes no connection", async () => {
    strict = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
    const res = await strict.request(
      "/api/v1/auth/register",
      json("POST", { username: "dave", password: "correct horse" }),
    );
    const dave = bearer(((await res.json()) as { accessToken: string }).accessToken);
    const created = await strict.request("/api/v1/rooms", json("POST", { name: "R", visibility: "public" }, dave));
    const id = ((await created.json()) as { id: string }).id;
    const before = pages.connections;
    const sent = await strict.request(
      `/api/v1/rooms/${id}/messages/x1`,
      json("PUT", { content: `${pages.origin}/og` }, dave),
    );
    expect(sent.status).toBe(201);
    await strict.deps.previews.settled();
    const [row] = await strict.deps.db
      .select()
      .from(linkPreviews)
      .where(eq(linkPreviews.url, `${pages.origin}/og`));
    expect(row).toMatchObject({ status: "failed", error: "private_address" });
    const list = await strict.request(`/api/v1/rooms/${id}/messages`, { headers: dave });
    expect(((await list.json()) as { messages: Message[] }).messages[0]?.previews).toEqual([]);
    expect(pages.connections).toBe(before);
  });
});
