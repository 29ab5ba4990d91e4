import { rmSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { call, eventually, ok, register, send, type User } from "../helpers/stream.ts";

// Search covers the mirror of a room on another server like a room here: two real servers
// on loopback, each with its own database.

interface Result {
  message: { id: string; content: string; author: { handle: string } | null };
  room: { id: string };
}

describe("search in a mirrored room", { timeout: 120_000 }, () => {
  const dirs = [preparedDataDir("fedchat-search-a-"), preparedDataDir("fedchat-search-b-")];
  let a: ServerProcess;
  let b: ServerProcess;
  let alice: User;
  let bob: User;

  const start = (dir: string) =>
    startServer({
      DATA_DIR: dir,
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
    });

  beforeAll(async () => {
    [a, b] = await Promise.all([start(dirs[0] as string), start(dirs[1] as string)]);
    [alice, bob] = await Promise.all([register(a, "alice"), register(b, "bob")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((s) => (s ? stopServer(s) : undefined)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => console.error(`A:\n${a?.output().slice(-4000)}\nB:\n${b?.output().slice(-4000)}`));
  });

  const search = async (q: string) =>
    (await ok<{ results: Result[] }>(200, b, bob.token, "GET", `/api/v1/search?q=${encodeURIComponent(q)}`)).results;

  it("finds what the room's server announced, edited by its new text, deleted not at all", async () => {
    const room = await ok<{ id: string; handle: string }>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Arctic",
      visibility: "public",
    });
    const asked = await call<{ id: string }>(b, bob.token, "POST", "/api/v1/rooms/join", { target: room.handle });
    expect(asked.status).toBe(202);
    const mirrorId = asked.body.id;
    await eventually("bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: { id: string; membership: string }[] }>(
        200,
        b,
        bob.token,
        "GET",
        "/api/v1/rooms",
      );
      return rooms.find((r) => r.id === mirrorId && r.membership === "joined");
    });

    const walrus = await send(a, alice, room.id, "w1", "a walrus on the ice");
    const found = await eventually("the message to be found on B", async () => {
      const results = await search("walrus");
      return results.length > 0 ? results : undefined;
    });
    expect(found.map((r) => [r.room.id, r.message.content, r.message.author?.handle])).toEqual([
      [mirrorId, "a walrus on the ice", `alice@${new URL(a.url).host}`],
    ]);

    await ok(200, a, alice.token, "PATCH", `/api/v1/rooms/${room.id}/messages/${walrus.id}`, {
      content: "a narwhal on the ice",
    });
    await eventually("the edit to be found on B", async () =>
      (await search("narwhal")).length === 1 ? true : undefined,
    );
    expect(await search("walrus")).toEqual([]);

    const deleted = await call(a, alice.token, "DELETE", `/api/v1/rooms/${room.id}/messages/${walrus.id}`);
    expect(deleted.status).toBe(204);
    await eventually("the delete to reach B", async () => ((await search("narwhal")).length === 0 ? true : undefined));
  });
});
