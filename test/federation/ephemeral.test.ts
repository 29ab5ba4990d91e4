import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import type { Peer, PeerActor } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { nextEvents, ok, openStream, register, type StreamSocket, type User } from "../helpers/stream.ts";

// What another server of ours tells that is not queued (federation/ephemeral.ts, presence.ts):
// a `Typing` or `ReadUpTo` from a member of the room, signed by them, and a `Presence` of the
// sending server's own users, signed by its actor; taken at once, before Fedify. Anything else
// is refused and changes nothing.

const context = [
  "https://www.w3.org/ns/activitystreams",
  {
    Typing: "urn:fedchat:Typing",
    typing: "urn:fedchat:typing",
    ReadUpTo: "urn:fedchat:ReadUpTo",
    seq: "urn:fedchat:seq",
    Presence: "urn:fedchat:Presence",
    status: "urn:fedchat:status",
  },
];

interface Member {
  actor: { id: string; url: string };
  presence?: string;
  readUpTo?: number;
}

describe("typing, read positions and presence from other servers", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: { id: string; url: string };
  let ivy: PeerActor;
  let stranger: PeerActor;
  let instance: PeerActor;
  let stream: StreamSocket;
  let serial = 0;

  beforeAll(async () => {
    federated = await startFederated("fedchat-ephemeral-");
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok(201, server, alice.token, "POST", "/api/v1/rooms", { name: "Den", visibility: "public" });
    [ivy, stranger] = [await peer.actor("ivy", { type: "Person" }), await peer.actor("stranger", { type: "Person" })];
    instance = await peer.actor("actor", { type: "Application" });
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

  const members = async () =>
    (await ok<{ members: Member[] }>(200, server, alice.token, "GET", `/api/v1/rooms/${room.id}/members`)).members;
  const ivyHere = async () => (await members()).find((m) => m.actor.url === ivy.id);

  const readUpTo = (actor: PeerActor, seq: unknown, extra: Record<string, unknown> = {}) => ({
    "@context": context,
    id: `${actor.id}#read-${++serial}`,
    type: "ReadUpTo",
    actor: actor.id,
    object: actor.id,
    target: room.url,
    seq,
    ...extra,
  });

  it("keeps a member's read position, shows it live and in the member list, never past the last message", async () => {
    for (const text of ["one", "two", "three"]) {
      await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/${text}`, { content: text });
    }
    expect((await peer.send(ivy, `${room.url}/inbox`, readUpTo(ivy, 2))).status).toBe(202);
    const [seen] = await nextEvents(stream, 1, 5_000, (f) => f.type === "read");
    expect(seen?.data).toMatchObject({ roomId: room.id, seq: 2 });
    expect((await ivyHere())?.readUpTo).toBe(2);
    // Never back, never past the last message.
    expect((await peer.send(ivy, `${room.url}/inbox`, readUpTo(ivy, 1))).status).toBe(202);
    expect((await peer.send(ivy, `${room.url}/inbox`, readUpTo(ivy, 99))).status).toBe(202);
    expect((await ivyHere())?.readUpTo).toBe(3);
  });

  it("refuses a read position from a non-member, for someone else, unsigned or malformed", async () => {
    const cases: [string, PeerActor | null, Record<string, unknown>, number][] = [
      ["not a member", stranger, readUpTo(stranger, 1), 403],
      ["for someone else", stranger, readUpTo(stranger, 1, { object: ivy.id }), 403],
      ["unsigned", null, readUpTo(ivy, 1), 401],
      ["negative", ivy, readUpTo(ivy, -1), 422],
      ["not a number", ivy, readUpTo(ivy, "3"), 422],
      ["fractional", ivy, readUpTo(ivy, 1.5), 422],
    ];
    for (const [what, signer, body, status] of cases) {
      const res = await peer.send(signer, `${room.url}/inbox`, body);
      expect(res.status, `${what}: ${res.body}`).toBe(status);
    }
    expect((await ivyHere())?.readUpTo).toBe(3);
  });

  const presence = (status: unknown, object: unknown = [ivy.id], extra: Record<string, unknown> = {}) => ({
    "@context": context,
    id: `${instance.id}#presence-${++serial}`,
    type: "Presence",
    actor: instance.id,
    object,
    status,
    ...extra,
  });

  /** Waits for the presence frame that says `status` of the actor with this IRI. */
  const presenceFrame = async (status: string) => {
    const id = (await ivyHere())?.actor.id;
    for (let i = 0; i < 50; i++) {
      const frame = stream.presence.find((f) => (f.data as { actorId?: string; status?: string }).actorId === id);
      if (frame && (frame.data as { status: string }).status === status) return frame;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no presence frame saying ${status}`);
  };

  it("shows another server's users online and offline, as it says, live and in the member list", async () => {
    expect((await ivyHere())?.presence).toBe("offline");
    expect((await peer.send(instance, `${room.url}/inbox`, presence("online"))).status).toBe(202);
    await presenceFrame("online");
    expect((await ivyHere())?.presence).toBe("online");
    // Repeated: nothing new to tell.
    stream.presence.length = 0;
    expect((await peer.send(instance, `${room.url}/inbox`, presence("online", ivy.id))).status).toBe(202);
    expect((await peer.send(instance, `${new URL(room.url).origin}/inbox`, presence("offline"))).status).toBe(202);
    const frame = await presenceFrame("offline");
    expect(stream.presence.indexOf(frame)).toBe(0);
    expect((await ivyHere())?.presence).toBe("offline");
  });

  it("refuses presence for another server's users, unsigned, signed by another or malformed, and changes nothing", async () => {
    const elsewhere = "https://elsewhere.example/users/ivy";
    const cases: [string, PeerActor | null, Record<string, unknown>, number][] = [
      ["of another server's user", instance, presence("online", [ivy.id, elsewhere]), 403],
      ["unsigned", null, presence("online"), 401],
      ["signed by another than its actor", ivy, presence("online"), 401],
      ["an unknown status", instance, presence("away"), 422],
      ["no users", instance, presence("online", []), 422],
      [
        "too many users",
        instance,
        presence(
          "online",
          Array.from({ length: 201 }, (_, i) => `${ivy.id}${i}`),
        ),
        400,
      ],
    ];
    for (const [what, signer, body, status] of cases) {
      const res = await peer.send(signer, `${room.url}/inbox`, body);
      expect(res.status, `${what}: ${res.body}`).toBe(status);
    }
    // A user in no room here is passed over.
    expect((await peer.send(instance, `${room.url}/inbox`, presence("online", [stranger.id]))).status).toBe(202);
    expect((await ivyHere())?.presence).toBe("offline");
  });
});
