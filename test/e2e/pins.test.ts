import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import {
  call,
  eventually,
  nextEvents,
  ok,
  openStream,
  register,
  type StreamSocket,
  send,
  type User,
} from "../helpers/stream.ts";

// Two servers on loopback, each with its own database: a pin made on one appears in the
// pinned list on the other (issue 16, item 3), through the Group's `featured` collection.

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
interface PinBody {
  message: { id: string; url: string; content: string };
}
type Member = { role: string; actor: { id: string; url: string } };

describe("pins across two servers", { timeout: 180_000 }, () => {
  let a: Federated;
  let b: Federated;
  let alice: User;
  let bob: User;
  let carol: User;
  let socket: StreamSocket | undefined;
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    [a, b] = await Promise.all([startFederated("fedchat-pins-a-"), startFederated("fedchat-pins-b-")]);
    [alice, bob, carol] = await Promise.all([
      register(a.server, "alice"),
      register(b.server, "bob"),
      register(b.server, "carol"),
    ]);
  }, 120_000);

  afterAll(async () => {
    socket?.ws.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  const pinsOf = async (on: Federated, user: User, roomId: string) =>
    (await ok<{ pins: PinBody[] }>(200, on.server, user.token, "GET", `/api/v1/rooms/${roomId}/pins`)).pins.map(
      (p) => p.message.url,
    );
  /** Waits until the pinned list on `on` is `expected` (message IRIs, newest pin first). */
  const pinsBecome = (on: Federated, user: User, roomId: string, expected: string[]) =>
    eventually(`the pins to be ${expected.join(", ")}`, async () => {
      const now = await pinsOf(on, user, roomId);
      return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
    });

  async function join(user: User, target: string): Promise<RoomBody> {
    const asked = await ok<RoomBody>(202, b.server, user.token, "POST", "/api/v1/rooms/join", { target });
    return await eventually(`${user.username} to be in the room`, async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b.server, user.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
  }

  let board: RoomBody;
  let mirror: RoomBody;
  const url = (id: string) => `${a.server.url}/messages/${id}`;
  const sent: Record<string, string> = {};

  it("fills a joining server's pins from the room's featured collection", async () => {
    board = await ok<RoomBody>(201, a.server, alice.token, "POST", "/api/v1/rooms", {
      name: "Board",
      visibility: "public",
    });
    for (const text of ["hello", "house rules", "later"]) {
      sent[text] = (await send(a.server, alice, board.id, text.replace(" ", "-"), text)).id;
    }
    await ok(201, a.server, alice.token, "PUT", `/api/v1/rooms/${board.id}/pins/${sent["house rules"]}`);
    mirror = await join(bob, board.url);
    await pinsBecome(b, bob, mirror.id, [url(sent["house rules"] as string)]);
  });

  it("shows a pin made on A in B's pinned list and on B's open streams", async () => {
    socket = await openStream(b.server, bob, "bob@B");
    await ok(201, a.server, alice.token, "PUT", `/api/v1/rooms/${board.id}/pins/${sent.hello}`);
    const [event] = await nextEvents(socket, 1, 45_000, (f) => f.type === "pins");
    expect(event).toMatchObject({ roomId: mirror.id, data: { pinned: true, pin: { message: { content: "hello" } } } });
    await pinsBecome(b, bob, mirror.id, [url(sent.hello as string), url(sent["house rules"] as string)]);
  });

  it("takes an unpin and a deleted pinned message off B's list", async () => {
    await ok(204, a.server, alice.token, "DELETE", `/api/v1/rooms/${board.id}/pins/${sent.hello}`);
    await pinsBecome(b, bob, mirror.id, [url(sent["house rules"] as string)]);
    await ok(204, a.server, alice.token, "DELETE", `/api/v1/rooms/${board.id}/messages/${sent["house rules"]}`);
    await pinsBecome(b, bob, mirror.id, []);
  });

  it("lets a moderator on B pin through the Group, which refuses a plain member", async () => {
    const dave = await register(b.server, "dave");
    await join(carol, board.url);
    await join(dave, board.url);
    const { members } = await ok<{ members: Member[] }>(
      200,
      a.server,
      alice.token,
      "GET",
      `/api/v1/rooms/${board.id}/members`,
    );
    const carolOnA = members.find((m) => m.actor.url === `${b.server.url}/users/carol`)?.actor.id;
    await ok(204, a.server, alice.token, "PUT", `/api/v1/rooms/${board.id}/members/${carolOnA}/role`, {
      role: "moderator",
    });
    const messages = await eventually("B to hold the room's messages", async () => {
      const list = await ok<{ messages: { id: string; url: string }[] }>(
        200,
        b.server,
        carol.token,
        "GET",
        `/api/v1/rooms/${mirror.id}/messages`,
      );
      const byUrl = new Map(list.messages.map((m) => [m.url, m.id]));
      const [hello, later] = [byUrl.get(url(sent.hello as string)), byUrl.get(url(sent.later as string))];
      return hello && later ? { hello, later } : undefined;
    });
    // B does not know its users' roles there: it asks, and the room's server decides. Dave's
    // request goes first, on the same ordered queue as carol's.
    const pin = (who: User, id: string, method = "PUT") =>
      call<{ pending?: boolean }>(b.server, who.token, method, `/api/v1/rooms/${mirror.id}/pins/${id}`);
    expect(await pin(dave, messages.hello)).toEqual({ status: 202, body: { pending: true } });
    expect(await pin(carol, messages.later)).toEqual({ status: 202, body: { pending: true } });
    await pinsBecome(a, alice, board.id, [url(sent.later as string)]);
    await pinsBecome(b, bob, mirror.id, [url(sent.later as string)]);
    expect((await pin(carol, messages.later, "DELETE")).status).toBe(202);
    await pinsBecome(a, alice, board.id, []);
    await pinsBecome(b, bob, mirror.id, []);
  });
});
