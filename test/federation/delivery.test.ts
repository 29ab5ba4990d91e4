import { rmSync } from "node:fs";
import { verifyRequest } from "@fedify/fedify";
import { getDocumentLoader } from "@fedify/fedify/runtime";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { type Hit, Peer, type PeerActor } from "../helpers/peer.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { eventually, memberHandles, ok, register, type User } from "../helpers/stream.ts";

// Delivery streams (federation/delivery.ts) against peers on loopback that answer as real
// servers do: taking RFC 9421, refusing it, failing for a while, never answering, gone.

interface RoomBody {
  id: string;
  url: string;
}

/** The number an Announce of a message carries (`<group>/history/<seq>`). */
const seqOf = (json: Record<string, unknown> | undefined) => Number(/\/history\/(\d+)$/.exec(String(json?.id))?.[1]);
const announced = (peer: Peer) => peer.received("Announce").map(seqOf);
const signedWith = (hit: Hit) => (hit.headers["signature-input"] ? "rfc9421" : "draft-cavage");
/** A delivery the peer received, as a `Request` (for checking its signature). */
const requestOf = (peer: Peer, hit: Hit) =>
  new Request(`${peer.url}${hit.path}`, {
    method: "POST",
    headers: Object.entries(hit.headers).flatMap(([k, v]) =>
      typeof v === "string" ? [[k, v] as [string, string]] : [],
    ),
    body: hit.body,
  });

describe("delivery streams", () => {
  let dir: string;
  let server: ServerProcess;
  let alice: User;
  const peers: Peer[] = [];

  beforeAll(async () => {
    dir = preparedDataDir("fedchat-delivery-");
    server = await startServer({
      DATA_DIR: dir,
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
    });
    alice = await register(server, "alice");
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    if (server) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => console.error(server?.output().slice(-6000)));
  });

  /** A peer server with one actor that is a member (a follower) of `room`. */
  async function member(room: RoomBody, name: string, on?: Peer): Promise<{ peer: Peer; actor: PeerActor }> {
    const peer = on ?? (await Peer.start());
    if (on == null) peers.push(peer);
    const actor = await peer.actor(name);
    const follow = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${actor.id}#follow`,
      type: "Follow",
      actor: actor.id,
      object: room.url,
    };
    expect((await peer.send(actor, `${room.url}/inbox`, follow)).status).toBe(202);
    await peer.receive("the Accept", (a) => a.type === "Accept");
    return { peer, actor };
  }

  const newRoom = (name: string) =>
    ok<RoomBody>(201, server, alice.token, "POST", "/api/v1/rooms", { name, visibility: "public" });
  let txn = 0;
  const say = (room: RoomBody, text: string) =>
    ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/t${++txn}`, { content: text });
  const messages = async (peer: Peer, count: number) =>
    await eventually(`${count} messages at ${peer.host}`, async () => {
      const seqs = announced(peer);
      return seqs.length >= count ? seqs : undefined;
    });

  it("signs with RFC 9421 and the room's Ed25519 key, which Fedify verifies", async () => {
    const room = await newRoom("Modern");
    const { peer } = await member(room, "modern");
    await say(room, "hello");
    await messages(peer, 1);
    const hit = peer.hits.find((h) => h.method === "POST" && h.json?.type === "Announce") as Hit;
    expect(signedWith(hit)).toBe("rfc9421");
    expect(String(hit.headers["signature-input"])).toContain('alg="ed25519"');
    const key = await verifyRequest(requestOf(peer, hit), {
      documentLoader: getDocumentLoader({ allowPrivateAddress: true }),
      spec: "rfc9421",
    });
    expect(key?.id?.href).toBe(`${room.url}/ed25519-key`);
    expect(key?.ownerId?.href).toBe(room.url);
  });

  it("falls back to draft-cavage RSA for a server that refuses RFC 9421, and remembers it", async () => {
    const room = await newRoom("Legacy");
    const peer = await Peer.start();
    peers.push(peer);
    peer.answerPosts("/inbox", (hit) => (hit.headers["signature-input"] ? 401 : 202));
    await member(room, "legacy", peer);
    await say(room, "first");
    await messages(peer, 1);
    await say(room, "second");
    await messages(peer, 2);
    const posts = peer.hits.filter((h) => h.method === "POST" && h.json?.type === "Announce");
    // Draft-cavage only: the scheme was learnt on the first delivery (the member's `Add`).
    expect(posts.map(signedWith)).toEqual(["draft-cavage", "draft-cavage"]);
    // Signed as Mastodon requires of a POST, and verified by Fedify with the room's RSA key.
    const hit = posts[0] as Hit;
    expect(String(hit.headers.signature)).toMatch(/headers="\(request-target\) host date digest content-type"/);
    const key = await verifyRequest(requestOf(peer, hit), {
      documentLoader: getDocumentLoader({ allowPrivateAddress: true }),
    });
    expect(key?.id?.href).toBe(`${room.url}#main-key`);
    const adds = peer.hits.filter((h) => h.method === "POST" && h.json?.type === "Add");
    expect(adds.map(signedWith)).toEqual(["rfc9421", "draft-cavage"]);
  });

  it("retries, not drops, what the second signature scheme could not deliver", async () => {
    const room = await newRoom("Knock twice");
    const peer = await Peer.start();
    peers.push(peer);
    let busy = true;
    // RFC 9421 refused; the first draft-cavage retry (of the member's Add) meets a busy server.
    peer.answerPosts("/inbox", (hit) => {
      if (hit.headers["signature-input"]) return 401;
      if (hit.json?.type !== "Add" || !busy) return 202;
      busy = false;
      return 503;
    });
    await member(room, "busy", peer);
    await peer.receive("the Add, at the second attempt", (a) => a.type === "Add");
    await say(room, "knock knock");
    expect(await messages(peer, 1)).toEqual([1]);
  });

  it("delivers everything once to a server back from an outage, retrying the oldest first", async () => {
    const room = await newRoom("Outage");
    const { peer } = await member(room, "flaky");
    await say(room, "before");
    await messages(peer, 1);
    peer.answerPosts("/inbox", 503);
    for (let i = 1; i <= 6; i++) await say(room, `during ${i}`);
    await eventually("two failed attempts", async () =>
      peer.hits.filter((h) => h.status === 503).length >= 2 ? true : undefined,
    );
    peer.answerPosts("/inbox", 202);
    const seqs = await messages(peer, 7);
    expect(seqs.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // While it failed, one request at a time was out, always the oldest undelivered one.
    const failed = peer.hits.filter((h) => h.status === 503).map((h) => seqOf(h.json));
    expect(new Set(failed)).toEqual(new Set([2]));
  });

  it("waits as long as a 429's Retry-After asks before trying that server again", async () => {
    const room = await newRoom("Rate limited");
    const { peer } = await member(room, "strict");
    await say(room, "before");
    await messages(peer, 1);
    peer.answerPosts("/inbox", { status: 429, headers: { "retry-after": "3600" } });
    await say(room, "too fast");
    await eventually("the refused attempt", async () => (peer.hits.some((h) => h.status === 429) ? true : undefined));
    // Without it, the stream would try again after 1 s, then 2 s.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(peer.hits.filter((h) => h.method === "POST" && h.status === 429)).toHaveLength(1);
  });

  it("keeps several requests out to a server that answers slowly, and delivers each once", async () => {
    const room = await newRoom("Far away");
    const { peer } = await member(room, "distant");
    await say(room, "hello");
    await messages(peer, 1);
    let out = 0;
    let most = 0;
    peer.answerPosts("/inbox", async () => {
      most = Math.max(most, ++out);
      await new Promise((resolve) => setTimeout(resolve, 300));
      out--;
      return 202;
    });
    for (let i = 1; i <= 12; i++) await say(room, `from afar ${i}`);
    const seqs = await messages(peer, 13);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(most).toBeGreaterThan(1);
  });

  it("sends a reaction alone, never beside the message it is about, to a slow server", async () => {
    const room = await newRoom("Far reactions");
    const { peer } = await member(room, "distant-reader");
    const out: string[] = [];
    const overlapped: string[] = [];
    peer.answerPosts("/inbox", async (hit) => {
      const kind = String((hit.json?.object as { type?: unknown } | undefined)?.type ?? hit.json?.type);
      if (out.length > 0 && (kind !== "Create" || out.some((k) => k !== "Create"))) overlapped.push(kind);
      out.push(kind);
      await new Promise((resolve) => setTimeout(resolve, 300));
      out.splice(out.indexOf(kind), 1);
      return 202;
    });
    // The stream learns how far away the server is.
    for (let i = 1; i <= 4; i++) await say(room, `warm-up ${i}`);
    await messages(peer, 4);
    overlapped.length = 0;
    const sent = await ok<{ id: string }>(
      201,
      server,
      alice.token,
      "PUT",
      `/api/v1/rooms/${room.id}/messages/react-me`,
      {
        content: "react to me",
      },
    );
    await ok(204, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/${sent.id}/reactions/%F0%9F%91%8D`);
    for (let i = 1; i <= 6; i++) await say(room, `after the reaction ${i}`);
    await messages(peer, 11);
    await peer.receive(
      "the reaction",
      (a) => a.type === "Announce" && (a.object as { type?: string }).type !== "Create",
    );
    expect(overlapped).toEqual([]);
  });

  it("keeps serving healthy servers while another never answers", async () => {
    const room = await newRoom("Black hole");
    const hole = await member(room, "hole");
    const healthy = await member(room, "healthy");
    hole.peer.answerPosts("/inbox", "hang");
    for (let i = 1; i <= 5; i++) await say(room, `into the void ${i}`);
    // (In order unless the machine is slow enough for requests to overlap: see inFlightFor.)
    expect((await messages(healthy.peer, 5)).sort()).toEqual([1, 2, 3, 4, 5]);
    // The black hole holds one request (a probe would follow its timeout), nothing more.
    const held = hole.peer.hits.filter((h) => h.method === "POST" && h.json?.type === "Announce");
    expect(held.length).toBeLessThanOrEqual(1);
    expect(announced(hole.peer)).toEqual([]);
  });

  it("removes the members of a server that answers 501, and skips what a server refuses with 422", async () => {
    const room = await newRoom("Refusals");
    const picky = await member(room, "picky");
    const unable = await member(room, "unable");
    await say(room, "known");
    await messages(picky.peer, 1);
    await messages(unable.peer, 1);
    picky.peer.answerPosts("/inbox", (hit) => (seqOf(hit.json) === 2 ? 422 : 202));
    unable.peer.answerPosts("/inbox", 501);
    await say(room, "refused");
    await say(room, "after");
    // The refused one is not retried; the next one comes.
    expect(await messages(picky.peer, 2)).toEqual([1, 3]);
    expect(picky.peer.hits.filter((h) => seqOf(h.json) === 2)).toHaveLength(1);
    await eventually("the 501 server's member to be removed", async () =>
      (await memberHandles(server, alice, room.id)).some((h) => h.endsWith(unable.peer.host)) ? undefined : true,
    );
  });
});
