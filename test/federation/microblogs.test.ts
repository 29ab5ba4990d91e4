import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import { Peer, type PeerActor } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { eventually, ok, register, type User } from "../helpers/stream.ts";

// A Mastodon user who follows a public room sees its messages: Mastodon ignores FEP-1b12's
// Announce{Create{Note}}, so a server whose NodeInfo says it runs a microblog is sent the room's
// Announce of the note by its id instead, which Mastodon fetches and shows. A Lemmy server (and
// one whose software is unknown) keeps getting the room's own Announce{Create}.

const AS = "https://www.w3.org/ns/activitystreams";
const PUBLIC = `${AS}#Public`;
type Json = Record<string, unknown>;

/** Serves a NodeInfo 2.1 that names `software`, as every fediverse server does. */
function runs(peer: Peer, software: string) {
  peer.serve(
    "/.well-known/nodeinfo",
    { links: [{ rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", href: `${peer.url}/nodeinfo/2.1` }] },
    { contentType: "application/json" },
  );
  peer.serve(
    "/nodeinfo/2.1",
    {
      version: "2.1",
      software: { name: software, version: "4.3.2" },
      protocols: ["activitypub"],
      services: { inbound: [], outbound: [] },
      openRegistrations: true,
      usage: { users: { total: 12 }, localPosts: 345 },
      metadata: {},
    },
    { contentType: 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"' },
  );
}

describe("microblogs see a public room's messages", () => {
  let federated: Federated;
  let server: ServerProcess;
  let mastodon: Peer;
  let lemmy: Peer;
  let alice: User;
  let room: { id: string; url: string };
  let moss: PeerActor;
  let rowan: PeerActor;

  /** A Follow of the room by a peer's user, accepted. */
  async function follow(peer: Peer, actor: PeerActor) {
    const request = { "@context": AS, id: `${actor.id}#follow`, type: "Follow", actor: actor.id, object: room.url };
    expect((await peer.send(actor, `${room.url}/inbox`, request)).status).toBe(202);
    await peer.receive("the Accept", (a) => a.type === "Accept");
  }

  beforeAll(async () => {
    federated = await startFederated("fedchat-microblogs-");
    server = federated.server;
    [mastodon, lemmy] = [federated.peer, await Peer.start()];
    runs(mastodon, "mastodon");
    runs(lemmy, "lemmy");
    alice = await register(server, "alice");
    room = await ok(201, server, alice.token, "POST", "/api/v1/rooms", { name: "Town square", visibility: "public" });
    moss = await mastodon.actor("moss", { type: "Person" });
    rowan = await lemmy.actor("rowan", { type: "Person" });
    await follow(mastodon, moss);
    await follow(lemmy, rowan);
  }, 60_000);

  afterAll(async () => {
    await lemmy?.close();
    await federated?.close();
  });

  it("announces the note by its id to Mastodon, and the Create to Lemmy", async () => {
    // What each server runs is learnt in the background when its user joins; until then it is
    // told as a FEP-1b12 server. Messages go until one reaches Mastodon as a boost.
    let serial = 0;
    const boost = await eventually("an Announce of a note at the Mastodon server", async () => {
      await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/m-${++serial}`, {
        content: `hello fediverse ${serial}`,
      });
      return mastodon.received("Announce").find((a) => typeof a.object === "string");
    });
    expect(boost.actor).toBe(room.url);
    expect(boost.to).toEqual([PUBLIC]);
    expect(boost.cc).toEqual([room.url, `${room.url}/followers`]);
    expect(typeof boost.published).toBe("string");

    // Mastodon fetches the note, which is public and says what was sent.
    const res = await fetch(String(boost.object), { headers: { accept: "application/activity+json" } });
    expect(res.status).toBe(200);
    const note = (await res.json()) as Json;
    expect(note.type).toBe("Note");
    expect(String(note.content)).toMatch(/hello fediverse \d+/);
    const text = String(note.content).match(/hello fediverse \d+/)?.[0] as string;

    // Each server got that message once, in the shape it shows.
    const about = (a: Json) => JSON.stringify(a).includes(`${text}<`) || a.object === boost.object;
    expect(mastodon.received("Announce").filter(about)).toHaveLength(1);
    const told = await lemmy.receive("the message at the Lemmy server", (a) => a.type === "Announce" && about(a));
    expect((told.object as Json).type).toBe("Create");
    expect(lemmy.received("Announce").filter(about)).toHaveLength(1);
  });

  it("takes a NodeInfo that is too large or not JSON as unknown, and goes on delivering", async () => {
    const odd = await Peer.start();
    try {
      odd.serve(
        "/.well-known/nodeinfo",
        { links: [{ rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", href: `${odd.url}/nodeinfo/2.1` }] },
        { contentType: "application/json" },
      );
      odd.serve("/nodeinfo/2.1", { software: { name: "mastodon" }, padding: "x".repeat(200_000) });
      const sage = await odd.actor("sage", { type: "Person" });
      await follow(odd, sage);
      await eventually("the NodeInfo to be read", async () => odd.hitsOn("/nodeinfo/2.1") > 0 || undefined);
      for (let i = 1; i <= 3; i++) {
        await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/odd-${i}`, {
          content: `odd ${i}`,
        });
      }
      const last = await odd.receive("the last message", (a) => JSON.stringify(a).includes("odd 3<"));
      expect((last.object as Json).type).toBe("Create");
      expect(odd.received("Announce").some((a) => typeof a.object === "string")).toBe(false);
    } finally {
      await odd.close();
    }
  });
});
