import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin } from "../helpers/admin.ts";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import type { ServerProcess } from "../helpers/server.ts";
import {
  eventually,
  login,
  nextEvents,
  ok,
  openStream,
  register,
  type StreamSocket,
  send,
  type User,
} from "../helpers/stream.ts";

// Two servers on loopback, each with its own database and its own admin (issue 16, item 5):
// a custom emoji in a message and in a reaction sent from one shows as its image on the other,
// served by that other server, and the two servers' `:blob:` stay two emoji.

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
interface Emoji {
  id: string;
  shortcode: string;
  url: string;
}
interface Reaction {
  emoji: string;
  count: number;
  me: boolean;
  url?: string;
}
interface MessageBody {
  id: string;
  url: string;
  content: string;
  emojis: { shortcode: string; url: string }[];
  reactions: Reaction[];
}

async function image(color: string, animated = false): Promise<Uint8Array> {
  const frame = (background: string) =>
    sharp({ create: { width: 32, height: 32, channels: 4, background } })
      .png()
      .toBuffer();
  if (!animated) return new Uint8Array(await frame(color));
  return new Uint8Array(
    await sharp([await frame(color), await frame("#000")], { join: { animated: true } })
      .gif()
      .toBuffer(),
  );
}

async function upload(server: ServerProcess, admin: User, shortcode: string, bytes: Uint8Array): Promise<Emoji> {
  const form = new FormData();
  form.append("shortcode", shortcode);
  form.append("file", new File([new Uint8Array(bytes)], `${shortcode}.png`));
  const res = await fetch(`${server.url}/api/v1/custom-emoji`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin.token}` },
    body: form,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Emoji;
}

/** The image at a URL, checked to be served by `server` itself. */
async function bytesFrom(server: ServerProcess, url: string | undefined): Promise<Uint8Array> {
  expect(url?.startsWith(`${server.url}/media/`), `${url} is served by ${server.url}`).toBe(true);
  const res = await fetch(url as string);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

describe("custom emoji across two servers", { timeout: 180_000 }, () => {
  let a: Federated;
  let b: Federated;
  let olga: User;
  let bea: User;
  let bob: User;
  let socket: StreamSocket | undefined;
  const blobA = image("#e02060");
  const blobB = image("#20a0e0");
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startFederated("fedchat-emoji-a-", {}, (env) => createAdmin(env, "olga")),
      startFederated("fedchat-emoji-b-", {}, (env) => createAdmin(env, "bea")),
    ]);
    [olga, bea, bob] = await Promise.all([login(a.server, "olga"), login(b.server, "bea"), register(b.server, "bob")]);
  }, 120_000);

  afterAll(async () => {
    socket?.ws.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  let lobby: RoomBody;
  let mirror: RoomBody;
  let hello: MessageBody;
  const mirrored = async (url: string) =>
    await eventually(`${url} on B`, async () => {
      const { messages } = await ok<{ messages: MessageBody[] }>(
        200,
        b.server,
        bob.token,
        "GET",
        `/api/v1/rooms/${mirror.id}/messages`,
      );
      return messages.find((m) => m.url === url);
    });

  /** The message `hello` as A shows it. */
  const helloOnA = async () =>
    (
      await ok<{ messages: MessageBody[] }>(200, a.server, olga.token, "GET", `/api/v1/rooms/${lobby.id}/messages`)
    ).messages.find((m) => m.url === hello.url);

  it("tells B's connected clients when B's emoji change", async () => {
    socket = await openStream(b.server, bob, "bob@B");
    await upload(b.server, bea, "blob", await blobB);
    const [event] = await nextEvents(socket, 1, 20_000, (f) => f.type === "emoji.updated");
    expect(event?.type).toBe("emoji.updated");
    // A client that was away gets it on resuming, as other events.
    const resumed = await openStream(b.server, bea, "bea@B", { since: (event?.position ?? 1) - 1 });
    try {
      expect((await nextEvents(resumed, 1, 20_000, (f) => f.type === "emoji.updated"))[0]?.position).toBe(
        event?.position,
      );
    } finally {
      resumed.ws.close();
    }
    // Bob's name uses it: his Person tags it, and A shows it (see below).
    await ok(200, b.server, bob.token, "PATCH", "/api/v1/me", { displayName: "Bob :blob:" });
  });

  it("shows a note's emoji on the other server, through that server", async () => {
    await upload(a.server, olga, "blob", await blobA);
    await upload(a.server, olga, "party", await image("#30c030", true));
    lobby = await ok<RoomBody>(201, a.server, olga.token, "POST", "/api/v1/rooms", {
      name: "Lobby",
      visibility: "public",
    });
    const asked = await ok<RoomBody>(202, b.server, bob.token, "POST", "/api/v1/rooms/join", { target: lobby.url });
    mirror = await eventually("bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b.server, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
    const sent = await send(a.server, olga, lobby.id, "hello-1", "hello :blob: and :party:");
    hello = await mirrored(`${a.server.url}/messages/${sent.id}`);
    expect(hello.emojis.map((e) => e.shortcode)).toEqual(["blob", "party"]);
    // A's :blob:, not B's own, and from B's origin.
    expect(await bytesFrom(b.server, hello.emojis[0]?.url)).toEqual(await blobA);
    expect((await sharp(await bytesFrom(b.server, hello.emojis[1]?.url)).metadata()).pages).toBe(2);
  });

  it("shows a custom emoji reaction sent from A as the image on B", async () => {
    const onA = (await helloOnA()) as MessageBody;
    await ok(
      204,
      a.server,
      olga.token,
      "PUT",
      `/api/v1/rooms/${lobby.id}/messages/${onA.id}/reactions/${encodeURIComponent(":blob:")}`,
    );
    const hostA = new URL(a.server.url).host;
    const reacted = await eventually("olga's :blob: on B", async () => {
      const m = await mirrored(hello.url);
      return m.reactions.find((r) => r.emoji === `:blob@${hostA}:`);
    });
    expect(reacted).toMatchObject({ count: 1, me: false });
    expect(await bytesFrom(b.server, reacted.url)).toEqual(await blobA);
  });

  it("keeps B's :blob: apart from A's, on both servers", async () => {
    await ok(
      204,
      b.server,
      bob.token,
      "PUT",
      `/api/v1/rooms/${mirror.id}/messages/${hello.id}/reactions/${encodeURIComponent(":blob:")}`,
    );
    const hostA = new URL(a.server.url).host;
    const hostB = new URL(b.server.url).host;
    const onB = await eventually("bob's :blob: back on B", async () => {
      const m = await mirrored(hello.url);
      return m.reactions.length === 2 ? m.reactions : undefined;
    });
    expect(onB.map((r) => [r.emoji, r.count, r.me])).toEqual([
      [`:blob@${hostA}:`, 1, false],
      [":blob:", 1, true],
    ]);
    expect(await bytesFrom(b.server, onB[1]?.url)).toEqual(await blobB);
    const onA = await eventually("bob's :blob: on A", async () => {
      const m = await helloOnA();
      return m?.reactions.length === 2 ? m.reactions : undefined;
    });
    expect(onA.map((r) => [r.emoji, r.count])).toEqual([
      [":blob:", 1],
      [`:blob@${hostB}:`, 1],
    ]);
    expect(await bytesFrom(a.server, onA[1]?.url)).toEqual(await blobB);
  });

  it("shows B's emoji in the name of B's user on A", async () => {
    const { members } = await ok<{ members: { actor: { displayName: string; emojis?: Emoji[] } }[] }>(
      200,
      a.server,
      olga.token,
      "GET",
      `/api/v1/rooms/${lobby.id}/members`,
    );
    const bobOnA = members.find((m) => m.actor.displayName === "Bob :blob:")?.actor;
    expect(bobOnA?.emojis?.map((e) => e.shortcode)).toEqual(["blob"]);
    expect(await bytesFrom(a.server, bobOnA?.emojis?.[0]?.url)).toEqual(await blobB);
  });

  it("lets B's user react with A's emoji, which A takes as its own", async () => {
    const hostA = new URL(a.server.url).host;
    await ok(
      204,
      b.server,
      bob.token,
      "PUT",
      `/api/v1/rooms/${mirror.id}/messages/${hello.id}/reactions/${encodeURIComponent(`:blob@${hostA}:`)}`,
    );
    const onA = await eventually("two :blob: of A's on A", async () => {
      const m = await helloOnA();
      return m?.reactions.find((r) => r.emoji === ":blob:" && r.count === 2);
    });
    expect(onA.me).toBe(true);
    await eventually("two of A's :blob: on B", async () => {
      const m = await mirrored(hello.url);
      return m.reactions.find((r) => r.emoji === `:blob@${hostA}:` && r.count === 2 && r.me);
    });
  });
});
