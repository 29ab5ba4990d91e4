import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, png } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

interface Result {
  message: { id: string; seq: number; roomId: string; content: string; author: { handle: string } | null };
  room: { id: string; name: string };
  snippet: { text: string; highlights: [number, number][] };
  rank: number;
}

async function user(name: string) {
  const res = await t.request("/api/v1/auth/register", json("POST", { username: name, password: "correct horse" }));
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, name, headers: bearer(body.accessToken) };
}
type User = Awaited<ReturnType<typeof user>>;

async function room(owner: User, name: string, visibility: "public" | "private", members: User[]) {
  const res = await t.request("/api/v1/rooms", json("POST", { name, visibility }, owner.headers));
  const id = ((await res.json()) as { id: string }).id;
  for (const member of members) {
    const invite = await t.request(`/api/v1/rooms/${id}/invites`, json("POST", {}, owner.headers));
    const { code } = (await invite.json()) as { code: string };
    const accepted = await t.request(`/api/v1/invites/${code}/accept`, { method: "POST", headers: member.headers });
    expect(accepted.status).toBe(200);
  }
  return id;
}

async function image(who: User, seed: number) {
  const form = new FormData();
  form.append("file", new File([new Uint8Array(png(8, 8, { seed }))], `cat-${seed}.png`, { type: "image/png" }));
  const res = await t.request("/api/v1/attachments", { method: "POST", headers: who.headers, body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function send(who: User, roomId: string, txn: string, content: string, attachments?: string[]) {
  const res = await t.request(
    `/api/v1/rooms/${roomId}/messages/${txn}`,
    json("PUT", { content, ...(attachments ? { attachments } : {}) }, who.headers),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; seq: number };
}

async function search(who: User, q: string, extra = "") {
  const res = await t.request(`/api/v1/search?q=${encodeURIComponent(q)}${extra}`, { headers: who.headers });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { results: Result[]; nextOffset: number | null };
}

const ids = (results: Result[]) => results.map((r) => r.message.id).sort();

describe("search", () => {
  let alice: User;
  let bob: User;
  let carol: User;
  let general: string;
  let secret: string;
  let team: string;
  /** What `from:bob has:image cat` must find for alice. */
  const expected = new Set<string>();
  /** Messages that would match but sit in the private room alice leaves. */
  const leftBehind = new Set<string>();

  beforeAll(async () => {
    alice = await user("alice");
    bob = await user("bob");
    carol = await user("carol");
    general = await room(bob, "General", "public", [alice, carol]);
    secret = await room(bob, "Secret", "private", [alice]);
    team = await room(carol, "Team", "private", [alice, bob]);
    const rooms = [general, secret, team];
    const words = ["dog", "cat", "bird", "catalogue", "fish"];
    // 1,000 messages in three rooms, sent in groups so they share commits as real traffic does.
    for (let i = 0; i < 1000; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          const n = i + k;
          const roomId = rooms[n % 3] as string;
          const author = n % 7 === 0 || roomId === secret ? bob : n % 2 === 0 ? bob : carol;
          const word = words[n % words.length] as string;
          const withImage = n % 10 < 3;
          const attachments = withImage ? [await image(author, n)] : undefined;
          const sent = await send(author, roomId, `m${n}`, `message ${n} about a ${word}`, attachments);
          if (author === bob && withImage && word === "cat") {
            (roomId === secret ? leftBehind : expected).add(sent.id);
          }
        }),
      );
    }
    const left = await t.request(`/api/v1/rooms/${secret}/leave`, { method: "POST", headers: alice.headers });
    expect(left.status).toBe(204);
  }, 240_000);

  it("finds exactly bob's messages with an image about a cat in rooms alice may read", async () => {
    expect(expected.size).toBeGreaterThan(5);
    expect(leftBehind.size).toBeGreaterThan(5);
    const { results } = await search(alice, "from:bob has:image cat", "&limit=50");
    expect(ids(results)).toEqual([...expected].sort());
    for (const r of results) {
      expect(r.message.author?.handle).toBe("bob@chat.example");
      expect(r.room.id).not.toBe(secret);
      const [start, end] = r.snippet.highlights[0] ?? [0, 0];
      expect(r.snippet.text.slice(start, end)).toBe("cat");
    }
  });

  it("finds the private room's messages for a member who stayed", async () => {
    const { results } = await search(bob, "from:bob has:image cat in:secret", "&limit=50");
    expect(ids(results)).toEqual([...leftBehind].sort());
  });

  it("matches words, not parts of them, unless asked for a prefix", async () => {
    const exact = await search(alice, "catalogue in:general", "&limit=50");
    expect(exact.results.length).toBeGreaterThan(0);
    expect(exact.results.every((r) => r.message.content.endsWith("catalogue"))).toBe(true);
    const cat = await search(alice, "cat in:general", "&limit=50");
    expect(cat.results.every((r) => r.message.content.endsWith(" cat"))).toBe(true);
    const prefix = await search(alice, "in:general cat* from:carol", "&limit=50");
    const endings = new Set(prefix.results.map((r) => r.message.content.split(" ").at(-1)));
    expect(endings).toEqual(new Set(["cat", "catalogue"]));
  });

  it("finds phrases only with their words in order", async () => {
    const { results } = await search(alice, '"about a bird" in:team', "&limit=50");
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => r.message.content.endsWith("about a bird") && r.room.id === team)).toBe(true);
    expect((await search(alice, '"bird a about"')).results).toEqual([]);
  });

  it("pages through results without repeats", async () => {
    const first = await search(alice, "dog", "&limit=50");
    expect(first.nextOffset).toBe(50);
    const second = await search(alice, "dog", `&limit=50&offset=${first.nextOffset}`);
    const seen = new Set(ids(first.results));
    expect(second.results.some((r) => seen.has(r.message.id))).toBe(false);
  });

  it("finds an edited message by its new text and a deleted one not at all", async () => {
    const edited = await send(bob, general, "edit-me", "a zebra crossing");
    const deleted = await send(bob, general, "delete-me", "a zebra stripe");
    const patched = await t.request(
      `/api/v1/rooms/${general}/messages/${edited.id}`,
      json("PATCH", { content: "an okapi crossing" }, bob.headers),
    );
    expect(patched.status).toBe(200);
    const gone = await t.request(`/api/v1/rooms/${general}/messages/${deleted.id}`, {
      method: "DELETE",
      headers: bob.headers,
    });
    expect(gone.status).toBe(204);
    expect((await search(alice, "zebra")).results).toEqual([]);
    expect(ids((await search(alice, "okapi")).results)).toEqual([edited.id]);
  });

  it("leaves out the messages of people one blocks", async () => {
    const mine = await send(carol, general, "blocked-1", "a quokka smiles");
    expect(ids((await search(alice, "quokka")).results)).toEqual([mine.id]);
    const blocked = await t.request("/api/v1/blocks", json("POST", { user: "carol" }, alice.headers));
    expect(blocked.status).toBeLessThan(300);
    expect((await search(alice, "quokka")).results).toEqual([]);
    expect(ids((await search(bob, "quokka")).results)).toEqual([mine.id]);
  });

  it("filters by mention, date and link", async () => {
    const mention = await send(bob, team, "mention-1", "hello @alice, see https://example.org/x");
    expect(ids((await search(carol, "mentions:alice")).results)).toEqual([mention.id]);
    expect(ids((await search(carol, "has:link in:team")).results)).toEqual([mention.id]);
    const mentionOnly = await send(bob, team, "mention-2", "hi @carol");
    expect(ids((await search(alice, "has:link")).results)).not.toContain(mentionOnly.id);
    expect((await search(alice, "hello before:2000-01-01")).results).toEqual([]);
    expect(ids((await search(alice, "hello after:2000-01-01")).results)).toEqual([mention.id]);
  });

  it("returns highlight ranges over plain text that a message cannot forge", async () => {
    // The private-use characters are the server's own markers for matches: a message that
    // carries them must not be able to mark text of its choosing.
    const sent = await send(bob, general, "html-1", "\uE000fake\uE001 <b>tapir</b> & more tapir");
    const { results } = await search(alice, "tapir");
    expect(ids(results)).toEqual([sent.id]);
    const snippet = results[0]?.snippet;
    expect(snippet?.text).not.toMatch(/[\uE000\uE001]/u);
    expect(snippet?.text).toContain("fake");
    const marked = snippet?.highlights.map(([s, e]) => snippet.text.slice(s, e));
    expect(marked?.length).toBeGreaterThan(0);
    expect(new Set(marked)).toEqual(new Set(["tapir"]));
  });

  it("refuses bad filters and empty queries with their terms, changing nothing", async () => {
    const bad = await t.request(`/api/v1/search?q=${encodeURIComponent("cat has:video before:2026-02-31")}`, {
      headers: alice.headers,
    });
    const problem = await expectProblem(bad, 422, "validation_failed");
    const details = problem.details as { message: string }[];
    expect(details.map((d) => d.message.split(":")[0])).toEqual(["has", "before"]);
    await expectProblem(await t.request("/api/v1/search?q=%20", { headers: alice.headers }), 422, "validation_failed");
    await expectProblem(await t.request("/api/v1/search?q=cat", {}), 401, "unauthenticated");
  });

  it("answers text that means something to tsquery or SQL as plain words", async () => {
    for (const q of [
      "'*",
      "\\*",
      "it's*",
      ":*",
      "&|!<->*",
      '"&|!"',
      "a:* & b",
      "'; drop table messages; --",
      "(*",
      "🐈*",
    ]) {
      const res = await t.request(`/api/v1/search?q=${encodeURIComponent(q)}`, { headers: alice.headers });
      expect(res.status, `${q}: ${await res.clone().text()}`).toBe(200);
    }
    expect((await search(alice, "dog")).results.length).toBeGreaterThan(0);
  });

  it("loads history around a sequence number", async () => {
    const res = await t.request(`/api/v1/rooms/${general}/messages?around=100&limit=10`, { headers: alice.headers });
    const { messages } = (await res.json()) as { messages: { seq: number }[] };
    expect(messages.map((m) => m.seq)).toEqual([95, 96, 97, 98, 99, 100, 101, 102, 103, 104]);
    const both = await t.request(`/api/v1/rooms/${general}/messages?around=100&before=5`, { headers: alice.headers });
    await expectProblem(both, 422, "validation_failed");
  });
});

describe("search ranking and reach", () => {
  let erin: User;
  let frank: User;
  let marsh: string;
  /** Sent first: short, so each ranks above the later long ones, but older than the newest 100. */
  const older = new Set<string>();
  /** Every match, newest first (ids are UUIDv7). */
  let newestFirst: string[] = [];
  /** Sent last, and more relevant than any other. */
  let best: string;

  beforeAll(async () => {
    erin = await user("erin");
    frank = await user("frank");
    marsh = await room(erin, "Marsh", "public", []);
    for (let i = 0; i < 30; i++) older.add((await send(erin, marsh, `old-${i}`, `heron ${i}`)).id);
    const longer: string[] = [];
    for (let i = 0; i < 100; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          send(erin, marsh, `new-${i + k}`, `a grey heron stood in the reeds of the marsh, number ${i + k}`),
        ),
      );
      longer.push(...batch.map((m) => m.id));
    }
    best = (await send(erin, marsh, "best", "heron heron")).id;
    newestFirst = [...older, ...longer, best].sort().reverse();
  }, 120_000);

  it("ranks the newest 100 matches by relevance, then lists older ones newest first", async () => {
    const all: Result[] = [];
    for (let offset: number | null = 0; offset != null; ) {
      const page = await search(erin, "heron", `&limit=50&offset=${offset}`);
      all.push(...page.results);
      offset = page.nextOffset;
    }
    // Page boundaries (at 50 inside the ranked part, at 100 where it ends) lose and repeat nothing.
    expect(all.map((r) => r.message.id).sort()).toEqual([...newestFirst].sort());
    const top = all.slice(0, 100);
    expect(top[0]?.message.id).toBe(best);
    expect(new Set(top.map((r) => r.message.id))).toEqual(new Set(newestFirst.slice(0, 100)));
    for (let i = 1; i < top.length; i++) {
      expect((top[i - 1] as Result).rank).toBeGreaterThanOrEqual((top[i] as Result).rank);
    }
    // Past the ranked ones, older matches by time alone, though the short ones rank higher.
    const rest = all.slice(100);
    expect(rest.map((r) => r.message.id)).toEqual(newestFirst.slice(100));
    const outranking = rest.filter((r) => older.has(r.message.id)).map((r) => r.rank);
    expect(Math.min(...outranking)).toBeGreaterThan((top.at(-1) as Result).rank);
  });

  it("searches every room of a member of many, and only those", async () => {
    const rooms: string[] = [];
    for (let i = 0; i < 102; i++) rooms.push(await room(frank, `Pond ${i}`, "private", []));
    const mine = await send(frank, rooms[101] as string, "ibis-1", "an ibis wades");
    const elsewhere = await send(erin, marsh, "ibis-2", "an ibis flies");
    expect(ids((await search(frank, "ibis")).results)).toEqual([mine.id]);
    expect(ids((await search(erin, "ibis")).results)).toEqual([elsewhere.id]);
    const joined = await t.request(`/api/v1/rooms/${marsh}/join`, { method: "POST", headers: frank.headers });
    expect(joined.status).toBeLessThan(300);
    expect(ids((await search(frank, "ibis")).results)).toEqual([mine.id, elsewhere.id].sort());
    const left = await t.request(`/api/v1/rooms/${rooms[101]}/leave`, { method: "POST", headers: frank.headers });
    expect(left.status).toBe(204);
    expect(ids((await search(frank, "ibis")).results)).toEqual([elsewhere.id]);
  }, 60_000);
});
