import { readFileSync } from "node:fs";
import { signRequest } from "@fedify/fedify";
import { eq } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { actors, roomKeys, roomMembers } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { Peer, type PeerActor } from "../helpers/peer.ts";

let t: TestInstance;
let headers: Record<string, string>;
let peer: Peer;
beforeAll(async () => {
  // The peer's keys are fetched from loopback when it signs a request.
  [t, peer] = await Promise.all([
    createTestInstance({ RATE_LIMIT_FACTOR: "100", FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" }),
    Peer.start(),
  ]);
  headers = await register("gwen");
});
afterAll(async () => {
  await Promise.all([t?.dispose(), peer?.close()]);
});

/** Registers a user and answers with its Authorization header. */
async function register(username: string) {
  const res = await t.request("/api/v1/auth/register", json("POST", { username, password: "correct horse" }));
  return bearer(((await res.json()) as { accessToken: string }).accessToken);
}

async function room(body: Record<string, unknown>) {
  const res = await t.request("/api/v1/rooms", json("POST", body, headers));
  return (await res.json()) as { id: string; url: string; handle: string };
}

const asActivityPub = { accept: "application/activity+json" };

describe("rooms as ActivityPub Groups", () => {
  it("publishes a public room as a Group with its name, topic and both keys", async () => {
    const r = await room({ name: "Chess <club>", topic: "Openings\n\nand <endgames>", visibility: "public" });
    expect(r.url).toBe(`https://chat.example/rooms/${r.id}`);
    const res = await t.request(`/rooms/${r.id}`, { headers: asActivityPub });
    expect(res.status).toBe(200);
    const group = (await res.json()) as Record<string, unknown>;
    expect(group).toMatchObject({
      id: r.url,
      type: "Group",
      preferredUsername: r.id,
      name: "Chess <club>",
      summary: "<p>Openings</p><p>and &#60;endgames&#62;</p>",
      inbox: `${r.url}/inbox`,
      endpoints: { sharedInbox: "https://chat.example/inbox" },
      publicKey: { id: expect.stringContaining(r.url), publicKeyPem: expect.stringContaining("BEGIN PUBLIC KEY") },
    });
    expect((group.assertionMethod as unknown[]).length).toBe(2);
  });

  it("makes the room's keys once and keeps them", async () => {
    const r = await room({ name: "Keys", visibility: "public" });
    const pem = async () =>
      (
        (await (await t.request(`/rooms/${r.id}`, { headers: asActivityPub })).json()) as {
          publicKey: { publicKeyPem: string };
        }
      ).publicKey.publicKeyPem;
    const [first, second] = await Promise.all([pem(), pem()]);
    expect(second).toBe(first);
    expect(await pem()).toBe(first);
    expect(await t.testDatabase.db.select().from(roomKeys).where(eq(roomKeys.roomId, r.id))).toHaveLength(1);
  });

  it("finds a public room by WebFinger under its handle", async () => {
    const r = await room({ name: "Finger", visibility: "public" });
    expect(r.handle).toBe(`${r.id}@chat.example`);
    const res = await t.request(`/.well-known/webfinger?resource=acct:${r.handle}`);
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { links: { rel: string; href?: string }[] };
    expect(jrd.links).toContainEqual(expect.objectContaining({ rel: "self", href: r.url }));
  });

  it("publishes no deleted room, and a private one only as a name-less Group WebFinger does not find", async () => {
    const hidden = await room({ name: "Hidden", topic: "secret plans", visibility: "private" });
    const gone = await room({ name: "Gone", visibility: "public" });
    await t.request(`/api/v1/rooms/${gone.id}`, { method: "DELETE", headers });
    expect((await t.request(`/rooms/${gone.id}`, { headers: asActivityPub })).status).toBe(404);
    for (const r of [hidden, gone]) {
      expect((await t.request(`/.well-known/webfinger?resource=acct:${r.handle}`)).status).toBe(404);
    }
    const res = await t.request(`/rooms/${hidden.id}`, { headers: asActivityPub });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("Hidden");
    expect(text).not.toContain("secret plans");
    expect(JSON.parse(text)).toMatchObject({ type: "Group", name: "Private room", manuallyApprovesFollowers: true });
  });

  it.each(["rooms/conv1", "rooms/..%2Fx", `rooms/${"a".repeat(500)}`])(
    "answers the malformed %s with 404",
    async (path) => {
      expect((await t.request(`/${path}`, { headers: asActivityPub })).status).toBe(404);
    },
  );
});

type Json = Record<string, unknown>;

/** GETs an ActivityPub document as another server would, signed by `signer` if given. */
async function fetchAs(path: string, signer?: PeerActor): Promise<Response> {
  if (signer == null) return await t.request(path, { headers: asActivityPub });
  const signed = await signRequest(
    new Request(new URL(path, t.origin), { headers: asActivityPub }),
    signer.rsa.privateKey,
    new URL(signer.keyId),
  );
  return await t.request(path, { headers: Object.fromEntries(signed.headers) });
}

async function document(path: string, signer?: PeerActor): Promise<Json> {
  const res = await fetchAs(path, signer);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as Json;
}

/** A user's id (that of their actor too). */
async function userId(auth: Record<string, string>): Promise<string> {
  return ((await (await t.request("/api/v1/me", { headers: auth })).json()) as { id: string }).id;
}

/** A remote actor (one of the peer's) in the room, as an accepted join stores it. */
async function remoteMember(roomId: string, actor: PeerActor) {
  const id = uuidv7();
  await t.testDatabase.db.insert(actors).values({ id, iri: actor.id, inbox: actor.inbox });
  await t.testDatabase.db.insert(roomMembers).values({ roomId, actorId: id, role: "member" });
}

describe("a room's Group as the threadiverse reads it (Lemmy, Mbin, PieFed)", () => {
  const origin = "https://chat.example";
  let forum: { id: string; url: string };
  let ivy: Record<string, string>;
  let ivyId: string;

  beforeAll(async () => {
    forum = await room({ name: "Forum", visibility: "public" });
    ivy = await register("ivy");
    ivyId = await userId(ivy);
    expect((await t.request(`/api/v1/rooms/${forum.id}/join`, { method: "POST", headers: ivy })).status).toBe(200);
  });

  const setRole = async (role: string) => {
    const res = await t.request(`/api/v1/rooms/${forum.id}/members/${ivyId}/role`, json("PUT", { role }, headers));
    expect(res.status).toBe(204);
  };

  it("names its moderators, followers and featured collections, and who may post", async () => {
    const group = await document(`/rooms/${forum.id}`);
    // The shape of Lemmy's community (lemmy/group.json) and Mbin's magazine.
    expect(group).toMatchObject({
      type: "Group",
      attributedTo: `${forum.url}/moderators`,
      followers: `${forum.url}/followers`,
      featured: `${forum.url}/featured`,
      outbox: expect.any(String),
      postingRestrictedToMods: false,
      sensitive: false,
    });
    expect(group).not.toHaveProperty("as:sensitive");
    // A JSON-LD reader finds both terms in the context.
    expect(group["@context"]).toContainEqual(
      expect.objectContaining({ postingRestrictedToMods: "lemmy:postingRestrictedToMods", sensitive: "as:sensitive" }),
    );
  });

  /** `test/fixtures/interop/<file>`: our own documents in Lemmy's and Mbin's shapes. */
  const fixture = (file: string) =>
    JSON.parse(readFileSync(new URL(`../fixtures/interop/${file}`, import.meta.url), "utf8")) as Json;
  const kind = (value: unknown) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);

  /** Fails unless `ours` has each of `theirs`'s keys (but `skip`) with a value of the same kind. */
  const sameShape = (ours: Json, theirs: Json, skip: string[]) => {
    for (const [key, value] of Object.entries(theirs)) {
      if (!skip.includes(key)) expect(kind(ours[key]), key).toBe(kind(value));
    }
  };

  it("has every property of a Lemmy community and an Mbin magazine it can have", async () => {
    const topical = await room({ name: "Birds", topic: "Spotted today", visibility: "public" });
    const group = await document(`/rooms/${topical.id}`);
    // Not kept by a room: Markdown source, banner, languages, edit date; no avatar set here.
    sameShape(group, fixture("lemmy/group.json"), ["source", "mediaType", "image", "language", "updated", "icon"]);
    // Mbin's snapshot scrubs its key to a string; `indexable` is Mastodon's search opt-in.
    sameShape(group, fixture("mbin/magazine.json"), ["source", "updated", "publicKey", "indexable"]);
  });

  it("serves the moderators and featured collections as Lemmy's", async () => {
    sameShape(await document(`/rooms/${forum.id}/moderators`), fixture("lemmy/group-moderators.json"), []);
    // Fedify leaves an empty `orderedItems` out, and Lemmy skips such a featured collection:
    // the middleware puts it back.
    sameShape(await document(`/rooms/${forum.id}/featured`), fixture("lemmy/group-featured.json"), []);
  });

  it("lists the owner and moderators, owner first, and follows role changes", async () => {
    const before = await document(`/rooms/${forum.id}/moderators`);
    expect(before).toMatchObject({
      id: `${forum.url}/moderators`,
      type: "OrderedCollection",
      totalItems: 1,
      // An array even of one: Lemmy reads a list.
      orderedItems: [`${origin}/users/gwen`],
    });
    await setRole("moderator");
    expect(await document(`/rooms/${forum.id}/moderators`)).toMatchObject({
      totalItems: 2,
      orderedItems: [`${origin}/users/gwen`, `${origin}/users/ivy`],
    });
    await setRole("member");
    expect((await document(`/rooms/${forum.id}/moderators`)).orderedItems).toEqual([`${origin}/users/gwen`]);
  });

  it("serves its members as followers and at the members collection its Add and Remove name", async () => {
    const felix = await peer.actor(`felix${Date.now()}`);
    await remoteMember(forum.id, felix);
    const members = await document(`/rooms/${forum.id}/members`);
    expect(members).toMatchObject({ id: `${forum.url}/members`, type: "OrderedCollection", totalItems: 3 });
    expect(members.orderedItems).toEqual([`${origin}/users/gwen`, `${origin}/users/ivy`, felix.id]);
    const followers = await document(`/rooms/${forum.id}/followers`);
    expect(followers).toMatchObject({ id: `${forum.url}/followers`, type: "Collection", totalItems: 3 });
    expect(followers.items).toEqual(members.orderedItems);
  });

  it("has an empty featured collection", async () => {
    expect(await document(`/rooms/${forum.id}/featured`)).toEqual(
      expect.objectContaining({
        id: `${forum.url}/featured`,
        type: "OrderedCollection",
        totalItems: 0,
        orderedItems: [],
      }),
    );
  });

  it("lists pinned messages in featured as Notes, newest pin first, and forgets a deleted one", async () => {
    const pinboard = await room({ name: "Pinboard", visibility: "public" });
    const sent: string[] = [];
    for (const content of ["first", "second"]) {
      const res = await t.request(
        `/api/v1/rooms/${pinboard.id}/messages/pin-${content}`,
        json("PUT", { content }, headers),
      );
      sent.push(((await res.json()) as { id: string }).id);
    }
    for (const id of sent) {
      const res = await t.request(`/api/v1/rooms/${pinboard.id}/pins/${id}`, { method: "PUT", headers });
      expect(res.status).toBe(201);
    }
    const featured = await document(`/rooms/${pinboard.id}/featured`);
    expect(featured).toMatchObject({ type: "OrderedCollection", totalItems: 2 });
    const items = featured.orderedItems as Json[];
    expect(items.map((note) => note.id)).toEqual([`${origin}/messages/${sent[1]}`, `${origin}/messages/${sent[0]}`]);
    expect(items[0]).toMatchObject({ type: "Note", attributedTo: `${origin}/users/gwen`, content: "<p>second</p>" });
    await t.request(`/api/v1/rooms/${pinboard.id}/messages/${sent[1]}`, { method: "DELETE", headers });
    const after = await document(`/rooms/${pinboard.id}/featured`);
    expect(after).toMatchObject({ totalItems: 1 });
    expect((after.orderedItems as Json[]).map((note) => note.id)).toEqual([`${origin}/messages/${sent[0]}`]);
  });

  it("pages a long member list", async () => {
    const big = await room({ name: "Crowd", visibility: "public" });
    for (let i = 0; i < 101; i++) {
      const id = uuidv7();
      await t.testDatabase.db.insert(actors).values({ id, iri: `https://far.example/users/u${i}` });
      await t.testDatabase.db.insert(roomMembers).values({ roomId: big.id, actorId: id, role: "member" });
    }
    const root = await document(`/rooms/${big.id}/members`);
    expect(root).toMatchObject({ totalItems: 102, first: `${big.url}/members?cursor=0` });
    expect(root.orderedItems).toBeUndefined();
    const first = await document(`/rooms/${big.id}/members?cursor=0`);
    expect(first.orderedItems).toHaveLength(100);
    expect(first.next).toBe(`${big.url}/members?cursor=100`);
    const second = await document(`/rooms/${big.id}/members?cursor=100`);
    expect(second.orderedItems).toHaveLength(2);
    expect(second.next).toBeUndefined();
    expect((await fetchAs(`/rooms/${big.id}/members?cursor=-1`)).status).toBe(404);
  });

  it("shows a private room's lists only to a server with a member in it", async () => {
    const hidden = await room({ name: "Den", visibility: "private" });
    const elsewhere = await Peer.start();
    const [inside, outside] = await Promise.all([peer.actor(`in${Date.now()}`), elsewhere.actor("out")]);
    await remoteMember(hidden.id, inside);
    onTestFinished(() => elsewhere.close());
    for (const collection of ["moderators", "followers", "members", "featured"]) {
      const path = `/rooms/${hidden.id}/${collection}`;
      const unsigned = await fetchAs(path);
      expect(unsigned.status, path).toBe(401);
      expect(await unsigned.text()).not.toContain("/users/gwen");
      expect((await fetchAs(path, outside)).status, path).toBe(401);
      await document(path, inside);
    }
    expect((await document(`/rooms/${hidden.id}/members`, inside)).orderedItems).toEqual([
      `${origin}/users/gwen`,
      inside.id,
    ]);
  });

  it("publishes nothing of a direct conversation, even to a member's server", async () => {
    const dm = (await (await t.request("/api/v1/dms", json("POST", { users: ["ivy"] }, headers))).json()) as Json;
    const felix = await peer.actor(`dm${Date.now()}`);
    await remoteMember(String(dm.id), felix);
    for (const collection of ["moderators", "followers", "members", "featured"]) {
      expect((await fetchAs(`/rooms/${dm.id}/${collection}`, felix)).status, collection).toBe(404);
    }
  });

  it.each(["followers", "members", "moderators", "featured"])(
    "answers 404 for a user's, the instance actor's or a missing room's %s",
    async (collection) => {
      for (const owner of ["users/gwen", "actor", "rooms/0190d3c4-0000-7000-8000-000000000000", "rooms/conv1"]) {
        expect((await fetchAs(`/${owner}/${collection}`)).status, `${owner}/${collection}`).toBe(404);
      }
    },
  );

  it("leaves the Person as it was", async () => {
    const person = await document("/users/gwen");
    expect(person.type).toBe("Person");
    for (const key of ["attributedTo", "followers", "featured", "postingRestrictedToMods", "sensitive"]) {
      expect(person, key).not.toHaveProperty(key);
    }
  });
});
