import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import type { Peer, PeerActor } from "../helpers/peer.ts";
import { rehost } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { eventually, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// What each kind of object sent to a room becomes (FEDERATION.md, "What other servers send"):
// posts, articles, polls and events are messages with their title, particulars and a link to
// the original; activities and objects the server does not handle are refused with a coded
// problem (422), never a silent 202. Documents from test/fixtures/interop/ (see its README).

const fixtures = fileURLToPath(new URL("../fixtures/interop/", import.meta.url));
type Json = Record<string, unknown>;
const load = (file: string): Json => JSON.parse(readFileSync(join(fixtures, file), "utf8")) as Json;
const AS = "https://www.w3.org/ns/activitystreams";
const PUBLIC = `${AS}#Public`;

interface MessageBody {
  id: string;
  content: string;
  html: string;
  editedAt: string | null;
  author: { handle: string; bot?: boolean } | null;
}

describe("inbound objects: every type gets a defined outcome", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: { id: string; url: string };
  let author: PeerActor;
  let serial = 0;

  beforeAll(async () => {
    federated = await startFederated("fedchat-objects-");
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok(201, server, alice.token, "POST", "/api/v1/rooms", { name: "Commons", visibility: "public" });
    author = await peer.actor("fern", { type: "Person" });
  }, 60_000);

  afterAll(async () => {
    await federated?.close();
  });

  const history = () => roomMessages<MessageBody>(server, alice, room.id);
  const inbox = () => `${room.url}/inbox`;

  /** A fixture's `Create`, moved to the peer as `author`'s, with fresh ids, addressed to the room. */
  function create(file: string, context: unknown): { activity: Json; object: Json } {
    const activity = rehost(load(file), peer.url) as Json;
    const object = activity.object as Json;
    const id = `${author.id}/objects/${++serial}`;
    Object.assign(activity, { "@context": context, id: `${id}/activity`, actor: author.id, to: [PUBLIC, room.url] });
    Object.assign(object, { id, url: `${peer.url}/posts/${serial}`, attributedTo: author.id, to: [PUBLIC, room.url] });
    return { activity, object };
  }

  async function delivered(activity: Json, marker: string): Promise<MessageBody> {
    const res = await peer.send(author, inbox(), activity);
    expect(res.status, res.body).toBe(202);
    return await eventually(`"${marker}" in the room`, async () =>
      (await history()).find((m) => m.content.includes(marker)),
    );
  }

  it("stores a Lemmy Page with its title, text, linked URL and a link to the post", async () => {
    const { activity, object } = create("lemmy/create-page-link-post.json", [
      AS,
      "https://join-lemmy.org/context.json",
    ]);
    const message = await delivered(activity, "Overwintering dahlias in pots");
    expect(message.author?.handle).toBe(`fern@${peer.host}`);
    expect(message.html).toContain("<strong>Overwintering dahlias in pots</strong>");
    expect(message.content).toContain("Lifted mine last week, notes inside.");
    // (The link moved to the peer with every other host of the fixture.)
    expect(message.content).toContain(`${peer.url}/dahlias-overwinter`);
    expect(message.html).toContain(`href="${object.url}"`);
  });

  it("marks a Service's message as a bot's, and drops it where the room forbids bots", async () => {
    const beacon = await peer.actor("beacon", { type: "Service" });
    const id = `${beacon.id}/objects/${++serial}`;
    const activity = {
      "@context": AS,
      id: `${id}/activity`,
      type: "Create",
      actor: beacon.id,
      to: [PUBLIC, room.url],
      object: { id, type: "Note", attributedTo: beacon.id, content: "<p>Beacon ping 7</p>", to: [PUBLIC, room.url] },
    };
    const res = await peer.send(beacon, inbox(), activity);
    expect(res.status, res.body).toBe(202);
    const message = await eventually('"Beacon ping 7" in the room', async () =>
      (await history()).find((m) => m.content.includes("Beacon ping 7")),
    );
    expect(message.author).toMatchObject({ handle: `beacon@${peer.host}`, bot: true });

    // Once the room forbids bots, the Service's next post is dropped; a person's still lands.
    await ok(200, server, alice.token, "PATCH", `/api/v1/rooms/${room.id}`, { allowBots: false });
    const later = `${beacon.id}/objects/${++serial}`;
    const refused = {
      ...activity,
      id: `${later}/activity`,
      object: { ...activity.object, id: later, content: "<p>Beacon ping 8</p>" },
    };
    expect((await peer.send(beacon, inbox(), refused)).status).toBe(202);
    const personal = `${author.id}/objects/${++serial}`;
    const fromPerson = {
      ...activity,
      id: `${personal}/activity`,
      actor: author.id,
      object: { ...activity.object, id: personal, attributedTo: author.id, content: "<p>Fern after the beacon</p>" },
    };
    await delivered(fromPerson, "Fern after the beacon");
    expect((await history()).some((m) => m.content.includes("Beacon ping 8"))).toBe(false);
    await ok(200, server, alice.token, "PATCH", `/api/v1/rooms/${room.id}`, { allowBots: true });
  });

  it("stores an Article (as Friendica, WordPress and Plume send) with its title", async () => {
    const { activity, object } = create("lemmy/create-page-link-post.json", [AS]);
    Object.assign(object, {
      type: "Article",
      name: "Notes on soil",
      content: "<p>Loam, <em>mostly</em>.</p><script>alert(1)</script>",
      attachment: [],
    });
    const message = await delivered(activity, "Notes on soil");
    expect(message.html).toContain("<em>mostly</em>");
    expect(message.html).not.toContain("script");
  });

  it("shows a Mastodon poll with its options and votes, and its Update with the new counts", async () => {
    const { activity, object } = create(
      "mastodon/create-question-poll.json",
      load("mastodon/create-question-poll.json")["@context"],
    );
    const message = await delivered(activity, "Which keyboard layout do you type on?");
    expect(message.content).toMatch(/QWERTY \(2 votes\)[\s\S]*Colemak \(1 vote\)[\s\S]*Dvorak \(0 votes\)/);
    const options = object.oneOf as Json[];
    (options[2]?.replies as Json).totalItems = 5;
    const update = {
      "@context": activity["@context"],
      id: `${object.id}#updates/1`,
      type: "Update",
      actor: author.id,
      to: [PUBLIC, room.url],
      object: { ...object, updated: new Date().toISOString() },
    };
    expect((await peer.send(author, inbox(), update)).status).toBe(202);
    const updated = await eventually("the new count", async () =>
      (await history()).find((m) => m.id === message.id && m.content.includes("Dvorak (5 votes)")),
    );
    expect(updated.content).toContain("QWERTY (2 votes)");
  });

  it("stores a Gancio Event with its time and place", async () => {
    const { activity } = create("gancio/create-event-place.json", AS);
    const message = await delivered(activity, "Repair café");
    expect(message.content).toContain("2024-07-14 15:30 UTC to 2024-07-14 17:30 UTC");
    expect(message.content).toContain("Community hall, Elm Street");
  });

  it("refuses a Lemmy Dislike and a Create of an unknown object with 422, storing nothing", async () => {
    const before = (await history()).length;
    const dislike = rehost(load("lemmy/dislike-post.json"), peer.url) as Json;
    Object.assign(dislike, {
      "@context": [AS, "https://join-lemmy.org/context.json"],
      id: `${author.id}/dislikes/${++serial}`,
      actor: author.id,
      object: `${room.url}`,
    });
    const refusedDislike = await peer.send(author, inbox(), dislike);
    expect(refusedDislike.status).toBe(422);
    expect(refusedDislike.json).toMatchObject({ code: "unsupported_activity" });

    const { activity, object } = create("lemmy/create-page-link-post.json", AS);
    Object.assign(object, { type: "Edition", name: "A book, as BookWyrm describes one" });
    const refusedEdition = await peer.send(author, inbox(), activity);
    expect(refusedEdition.status).toBe(422);
    expect(refusedEdition.json).toMatchObject({ code: "unsupported_object" });

    // A namespaced spelling of a handled type is still handled.
    const { activity: spelled } = create("lemmy/create-page-link-post.json", AS);
    spelled.type = `${AS}#Create`;
    (spelled.object as Json).name = "Spelled in full";
    await delivered(spelled, "Spelled in full");
    expect((await history()).length).toBe(before + 1);
  });
});
