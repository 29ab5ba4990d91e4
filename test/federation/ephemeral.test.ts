import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import type { Peer, PeerActor } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { nextEvents, ok, openStream, register, type StreamSocket, type User } from "../helpers/stream.ts";

// A `Typing` from another server (federation/ephemeral.ts) is taken at once, before Fedify, and
// only from a member of the room, signed by them; it is never stored. Anything else is refused.

const context = [
  "https://www.w3.org/ns/activitystreams",
  { Typing: "urn:fedchat:Typing", typing: "urn:fedchat:typing" },
];

describe("typing notices from other servers", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: { id: string; url: string };
  let ivy: PeerActor;
  let stranger: PeerActor;
  let stream: StreamSocket;
  let serial = 0;

  beforeAll(async () => {
    federated = await startFederated("fedchat-ephemeral-");
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok(201, server, alice.token, "POST", "/api/v1/rooms", { name: "Den", visibility: "public" });
    [ivy, stranger] = [await peer.actor("ivy", { type: "Person" }), await peer.actor("stranger", { type: "Person" })];
    const follow = { "@context": context[0], id: `${ivy.id}#follow`, type: "Follow", actor: ivy.id, object: room.url };
    expect((await peer.send(ivy, `${room.url}/inbox`, follow)).status).toBe(202);
    await peer.receive("the Accept", (a) => a.type === "Accept");
    stream = await openStream(server, alice, "alice");
  }, 60_000);

  afterAll(async () => {
    stream?.ws.close();
    await federated?.close();
  });

  const typing = (actor: PeerActor, extra: Record<string, unknown> = {}) => ({
    "@context": context,
    id: `${actor.id}#typing-${++serial}`,
    type: "Typing",
    actor: actor.id,
    object: actor.id,
    target: room.url,
    typing: true,
    ...extra,
  });

  it("shows a member's typing to the room's clients, at once", async () => {
    expect((await peer.send(ivy, `${room.url}/inbox`, typing(ivy))).status).toBe(202);
    const [seen] = await nextEvents(stream, 1, 5_000, (f) => f.type === "typing");
    expect(seen?.roomId).toBe(room.id);
    expect(seen?.data).toMatchObject({ typing: true });
  });

  it("refuses it from a non-member, for someone else, unsigned or malformed, and shows nothing", async () => {
    const cases: [string, PeerActor | null, Record<string, unknown>, number][] = [
      ["not a member", stranger, typing(stranger), 403],
      ["for someone else", stranger, typing(stranger, { object: ivy.id }), 403],
      ["unsigned", null, typing(ivy), 401],
      ["signed by another than its actor", stranger, typing(ivy), 401],
      ["without typing", ivy, typing(ivy, { typing: "yes" }), 422],
      ["for a room that is not here", ivy, typing(ivy, { target: `${room.url}x` }), 404],
    ];
    for (const [what, signer, body, status] of cases) {
      const res = await peer.send(signer, `${room.url}/inbox`, body);
      expect(res.status, `${what}: ${res.body}`).toBe(status);
    }
    await expect(nextEvents(stream, 1, 1_000, (f) => f.type === "typing")).rejects.toThrow(/timed out/);
  });
});
