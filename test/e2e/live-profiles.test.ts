import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import {
  eventually,
  nextEvents,
  ok,
  openStream,
  register,
  roomMessages,
  type StreamSocket,
  send,
  type User,
} from "../helpers/stream.ts";

// Two servers on loopback, each with its own database: a profile change on one reaches the
// other as `Update{Person}`, which refreshes the stored profile and is told live to the
// sessions there that show the person (issue 17, item 3); profile fields travel as the
// `Person`'s `PropertyValue` attachments (issue 18, item 6).

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
type Actor = { id: string; url: string; displayName: string };

describe("profile changes across two servers", { timeout: 180_000 }, () => {
  let a: Federated;
  let b: Federated;
  let alice: User;
  let bob: User;
  let room: RoomBody;
  let mirror: RoomBody;
  const sockets: StreamSocket[] = [];
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    [a, b] = await Promise.all([startFederated("fedchat-profiles-a-"), startFederated("fedchat-profiles-b-")]);
    [alice, bob] = await Promise.all([register(a.server, "alice"), register(b.server, "bob")]);
    room = await ok<RoomBody>(201, a.server, alice.token, "POST", "/api/v1/rooms", {
      name: "Tea",
      visibility: "public",
    });
    await send(a.server, alice, room.id, "t1", "hello from A");
    const asked = await ok<RoomBody>(202, b.server, bob.token, "POST", "/api/v1/rooms/join", { target: room.url });
    mirror = await eventually("Bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b.server, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
    // A message into a room on another server is accepted (202) and numbered there.
    await ok(202, b.server, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/t2`, { content: "hello from B" });
    // B knows Alice once her message is there: an Update of an actor B never met is not kept.
    await eventually("B to hold both messages", async () => {
      const list = await roomMessages<{ content: string }>(b.server, bob, mirror.id);
      return list.length === 2 ? list : undefined;
    });
  }, 150_000);

  afterAll(async () => {
    for (const s of sockets) s.ws.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  /** The display name a member list on `on` shows for the actor at `url`. */
  const nameIn = async (on: Federated, viewer: User, roomId: string, url: string) => {
    const path = `/api/v1/rooms/${roomId}/members`;
    const { members } = await ok<{ members: { actor: Actor }[] }>(200, on.server, viewer.token, "GET", path);
    return members.find((m) => m.actor.url === url)?.actor.displayName;
  };
  const aliceUrl = () => `${a.server.url}/users/alice`;
  const bobUrl = () => `${b.server.url}/users/bob`;

  it("tells Bob on B live when Alice on A renames herself, and B's members and messages show it", async () => {
    const socket = await openStream(b.server, bob, "bob@B");
    sockets.push(socket);
    await ok(200, a.server, alice.token, "PATCH", "/api/v1/me", { displayName: "Alice Liddell" });
    const [event] = await nextEvents(socket, 1, 45_000, (f) => f.type === "profile.updated");
    expect(event?.data).toMatchObject({ actor: { url: aliceUrl(), displayName: "Alice Liddell" } });
    expect(await nameIn(b, bob, mirror.id, aliceUrl())).toBe("Alice Liddell");
    const { messages } = await ok<{ messages: { author: Actor | null; content: string }[] }>(
      200,
      b.server,
      bob.token,
      "GET",
      `/api/v1/rooms/${mirror.id}/messages`,
    );
    expect(messages.find((m) => m.content === "hello from A")?.author?.displayName).toBe("Alice Liddell");
  });

  it("tells Bob on B live when Alice renames her room on A", async () => {
    const socket = sockets[0] as StreamSocket;
    await ok(200, a.server, alice.token, "PATCH", `/api/v1/rooms/${room.id}`, {
      name: "Tea and cake",
      topic: "Fridays",
    });
    const [event] = await nextEvents(socket, 1, 45_000, (f) => f.type === "room.updated");
    expect(event).toMatchObject({ roomId: mirror.id, data: { changes: { name: "Tea and cake", topic: "Fridays" } } });
    const { rooms } = await ok<{ rooms: { id: string; name: string }[] }>(
      200,
      b.server,
      bob.token,
      "GET",
      "/api/v1/rooms",
    );
    expect(rooms.find((r) => r.id === mirror.id)?.name).toBe("Tea and cake");
  });

  it("tells Alice on A live when Bob on B, a member of her room, renames himself", async () => {
    const socket = await openStream(a.server, alice, "alice@A");
    sockets.push(socket);
    await ok(200, b.server, bob.token, "PATCH", "/api/v1/me", { displayName: "Bob Builder" });
    const [event] = await nextEvents(socket, 1, 45_000, (f) => f.type === "profile.updated");
    expect(event?.data).toMatchObject({ actor: { url: bobUrl(), displayName: "Bob Builder" } });
    expect(await nameIn(a, alice, room.id, bobUrl())).toBe("Bob Builder");
  });

  it("sends Bob's profile fields as PropertyValue attachments; A stores them and shows them unverified", async () => {
    const socket = sockets[1] as StreamSocket;
    // Bob's link points at his own profile: B fetches it (loopback is allowed between these
    // test servers) and finds no rel=me there, so it stays unverified anyway; A must not
    // verify on B's word either way.
    await ok(200, b.server, bob.token, "PATCH", "/api/v1/me", {
      fields: [
        { name: "Pronouns", value: "he/him" },
        { name: "Site", value: `${bobUrl()}?page=1` },
      ],
    });
    const res = await fetch(bobUrl(), { headers: { accept: "application/activity+json" } });
    const person = (await res.json()) as { attachment?: { type: string; name: string; value: string }[] };
    expect(person.attachment).toEqual([
      { type: "PropertyValue", name: "Pronouns", value: "he/him" },
      {
        type: "PropertyValue",
        name: "Site",
        value: `<a href="${bobUrl()}?page=1" rel="me nofollow noopener noreferrer" target="_blank">${bobUrl()}?page=1</a>`,
      },
    ]);
    await nextEvents(socket, 1, 45_000, (f) => f.type === "profile.updated");
    const handle = `bob@${new URL(b.server.url).host}`;
    const profile = await ok<{ fields: { name: string; value: string; verifiedAt: string | null }[] }>(
      200,
      a.server,
      alice.token,
      "GET",
      `/api/v1/users/${encodeURIComponent(handle)}`,
    );
    expect(profile.fields).toEqual([
      { name: "Pronouns", value: "he/him", verifiedAt: null },
      { name: "Site", value: `${bobUrl()}?page=1`, verifiedAt: null },
    ]);
  });
});
