import { rmSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { eventually, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// Threads across two real servers (issue 16): a thread of five replies, written on both, is the
// same chain on each, its participants are notified on their own server, and the `Note`s say
// `inReplyTo` and `context` (FEP-7888) as other programs read them.

interface RoomBody {
  id: string;
  url: string;
  handle: string;
  membership: string;
}
interface MessageBody {
  id: string;
  seq: number;
  url: string;
  content: string;
  threadRootId: string | null;
  thread: { count: number; participants: { handle: string }[] } | null;
  author: { handle: string } | null;
}
interface ThreadBody {
  root: MessageBody;
  messages: MessageBody[];
}

describe("threads between two servers", { timeout: 180_000 }, () => {
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
    for (let i = 0; i < 2; i++) dirs.push(preparedDataDir("fedchat-threads-"));
    [a, b] = await Promise.all([start(dirs[0] as string), start(dirs[1] as string)]);
    [alice, bob] = await Promise.all([register(a, "alice"), register(b, "bob")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((s) => (s ? stopServer(s) : undefined)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => {
      console.error(`A:\n${a?.output().slice(-6000)}\nB:\n${b?.output().slice(-6000)}`);
    });
  });

  const threadOf = (server: ServerProcess, user: User, roomId: string, rootId: string) =>
    ok<ThreadBody>(200, server, user.token, "GET", `/api/v1/rooms/${roomId}/threads/${rootId}`);
  const notificationsOf = (server: ServerProcess, user: User) =>
    ok<{ notifications: { type: string; messageId: string }[] }>(
      200,
      server,
      user.token,
      "GET",
      "/api/v1/notifications",
    );

  it("shows the same thread of five replies on both servers, notifies its participants, and federates a reply chain", async () => {
    const lobby = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Lobby",
      visibility: "public",
    });
    const asked = await ok<RoomBody>(202, b, bob.token, "POST", "/api/v1/rooms/join", { target: lobby.handle });
    const mirrorId = asked.id;
    await eventually("bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === mirrorId && r.membership === "joined");
    });

    const root = await ok<MessageBody>(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/messages/root`, {
      content: "where shall we meet?",
    });
    const rootOnB = await eventually("the root on B", async () =>
      (await roomMessages<MessageBody>(b, bob, mirrorId)).find((m) => m.url === root.url),
    );

    // Five replies from both servers, each waited for so that their order is known.
    const writers: [ServerProcess, User, string, string][] = [
      [b, bob, mirrorId, rootOnB.id],
      [a, alice, lobby.id, root.id],
      [b, bob, mirrorId, rootOnB.id],
      [a, alice, lobby.id, root.id],
      [b, bob, mirrorId, rootOnB.id],
    ];
    for (const [i, [server, user, roomId, rootId]] of writers.entries()) {
      await ok(server === a ? 201 : 202, server, user.token, "PUT", `/api/v1/rooms/${roomId}/messages/r${i}`, {
        content: `reply ${i + 1}`,
        threadRootId: rootId,
      });
      await eventually(`reply ${i + 1} on A`, async () =>
        (await threadOf(a, alice, lobby.id, root.id)).messages.find((m) => m.content === `reply ${i + 1}`),
      );
      // On B too: whether bob has replied is decided as each reply arrives there.
      await eventually(`reply ${i + 1} on B`, async () =>
        (await threadOf(b, bob, mirrorId, rootOnB.id)).messages.find((m) => m.content === `reply ${i + 1}`),
      );
    }
    const contents = ["reply 1", "reply 2", "reply 3", "reply 4", "reply 5"];
    const onA = await threadOf(a, alice, lobby.id, root.id);
    expect(onA.root.thread?.count).toBe(5);
    expect(onA.messages.map((m) => m.content)).toEqual(contents);
    const onB = await eventually("the whole thread on B", async () => {
      const listed = await threadOf(b, bob, mirrorId, rootOnB.id);
      return listed.messages.length === 5 ? listed : undefined;
    });
    expect(onB.root.thread?.count).toBe(5);
    expect(onB.messages.map((m) => [m.seq, m.url, m.content])).toEqual(
      onA.messages.map((m) => [m.seq, m.url, m.content]),
    );
    expect(onB.messages.every((m) => m.threadRootId === rootOnB.id)).toBe(true);

    // Each is notified of the other's replies on their own server: alice wrote the root, bob replied.
    const byUrl = new Map(onA.messages.map((m) => [m.url, m.content]));
    const aliceNotes = (await notificationsOf(a, alice)).notifications.filter((n) => n.type === "thread");
    expect(aliceNotes).toHaveLength(3);
    const bobNotes = await eventually("bob's notifications", async () => {
      const list = (await notificationsOf(b, bob)).notifications.filter((n) => n.type === "thread");
      return list.length === 2 ? list : undefined;
    });
    const onBById = new Map(onB.messages.map((m) => [m.id, m.url]));
    expect(bobNotes.map((n) => byUrl.get(onBById.get(n.messageId) ?? "")).sort()).toEqual(["reply 2", "reply 4"]);

    // What other programs see: a reply chain to the root, the root's IRI as the context.
    const reply = onA.messages[1] as MessageBody;
    const res = await fetch(reply.url, { headers: { accept: "application/activity+json" } });
    expect(res.status).toBe(200);
    const note = (await res.json()) as { inReplyTo?: string; context?: string };
    expect([note.inReplyTo, note.context]).toEqual([root.url, root.url]);
  });
});
