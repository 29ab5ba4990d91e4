import { rmSync } from "node:fs";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { png } from "../api/support.ts";
import { animatedGif } from "../helpers/animated.ts";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { call, eventually, ok, register, type User } from "../helpers/stream.ts";

// Two real servers on loopback: a sticker sent on one is an image message on the other, and
// one sent into a room on the other server comes back as a sticker to its sender.

interface Attachment {
  name: string;
  mediaType: string;
  url: string;
  previewUrl?: string;
  stillUrl?: string;
  sticker?: true;
}
interface Message {
  id: string;
  content: string;
  sticker?: true;
  pending?: true;
  attachments: Attachment[];
}
interface Room {
  id: string;
  handle: string;
  membership: string;
}

describe("stickers between two servers", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;
  let alice: User;
  let bob: User;

  const start = async (dir: string) =>
    await startServer({
      DATA_DIR: dir,
      PORT: String(await freePort()),
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
    });

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dirs.push(preparedDataDir("fedchat-stickers-"));
    [a, b] = await Promise.all([start(dirs[0] as string), start(dirs[1] as string)]);
    [alice, bob] = await Promise.all([register(a, "alice"), register(b, "bob")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((s) => (s ? stopServer(s) : undefined)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => console.error(`A:\n${a?.output().slice(-6000)}\nB:\n${b?.output().slice(-6000)}`));
  });

  async function stickerOf(server: ServerProcess, user: User, bytes: Uint8Array, name: string) {
    const pack = await ok<{ id: string }>(201, server, user.token, "POST", "/api/v1/sticker-packs", { name: "Mine" });
    const form = new FormData();
    form.append("file", new File([new Uint8Array(bytes)], "x"));
    form.append("name", name);
    const res = await fetch(`${server.url}/api/v1/sticker-packs/${pack.id}/stickers`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
      body: form,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string };
  }

  const history = async (server: ServerProcess, user: User, roomId: string) =>
    (await ok<{ messages: Message[] }>(200, server, user.token, "GET", `/api/v1/rooms/${roomId}/messages?limit=100`))
      .messages;

  it("goes out as a Note with one Image, and shows as an image message on the other server", async () => {
    const lobby = await ok<Room>(201, a, alice.token, "POST", "/api/v1/rooms", { name: "Lobby", visibility: "public" });
    const asked = await call<Room>(b, bob.token, "POST", "/api/v1/rooms/join", { target: lobby.handle });
    expect(asked.status).toBe(202);
    const mirror = await eventually("bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: Room[] }>(200, b, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.body.id && r.membership === "joined");
    });

    const party = await stickerOf(a, alice, await animatedGif(3, 96), "Party parrot");
    const sent = await ok<Message>(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/stickers/p1`, {
      sticker: party.id,
    });
    expect(sent.sticker).toBe(true);

    // The Note as other servers (and Mastodon) read it: no text, one Image named after the sticker.
    const note = (await (
      await fetch(`${a.url}/messages/${sent.id}`, { headers: { accept: "application/activity+json" } })
    ).json()) as { type: string; content: string; attachment: unknown };
    expect(note.type).toBe("Note");
    // Compacted JSON-LD: one attachment is an object, not an array of one.
    expect([note.attachment].flat()).toEqual([
      expect.objectContaining({ type: "Image", name: "Party parrot", mediaType: "image/gif" }),
    ]);

    const onB = await eventually("the sticker on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.attachments.length === 1 && m.content === ""),
    );
    expect(onB.attachments[0]).toMatchObject({ name: "Party parrot", mediaType: "image/gif" });
    // B fetches it through its own origin, and its preview still moves, with a still beside it.
    const preview = await fetch(onB.attachments[0]?.previewUrl as string);
    expect(preview.status).toBe(200);
    expect((await sharp(new Uint8Array(await preview.arrayBuffer())).metadata()).pages).toBe(3);
    const opened = (await history(b, bob, mirror.id)).find((m) => m.id === onB.id);
    expect(opened?.attachments[0]?.stillUrl).toBeDefined();

    // Bob's sticker into A's room: pending, then numbered by A; A shows an image, B a sticker.
    const wave = await stickerOf(b, bob, png(48, 48, { seed: 5 }), "Wave");
    const pending = await call<Message>(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/stickers/w1`, {
      sticker: wave.id,
    });
    expect(pending.status).toBe(202);
    const onA = await eventually("bob's sticker on A", async () =>
      (await history(a, alice, lobby.id)).find((m) => m.attachments[0]?.name === "Wave"),
    );
    expect(onA.attachments).toEqual([expect.objectContaining({ mediaType: "image/png" })]);
    const back = await eventually("bob's sticker numbered on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.attachments[0]?.name === "Wave" && !m.pending),
    );
    expect(back.sticker).toBe(true);
  });
});
