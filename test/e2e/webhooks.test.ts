import { rmSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { call, eventually, ok, register, type User } from "../helpers/stream.ts";

// A webhook on A posts into a room that bob on B is in: the message reaches B like any
// member's, its author a bot (a `Service` actor) that B fetched from A.

interface RoomBody {
  id: string;
  handle: string;
  membership: string;
}
interface MessageBody {
  id: string;
  content: string;
  html: string;
  author: { handle: string; displayName: string; bot?: boolean; webhook?: boolean } | null;
}

describe("an incoming webhook seen on another server", { timeout: 120_000 }, () => {
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
      LOG_LEVEL: "warning",
    });

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dirs.push(preparedDataDir("fedchat-webhooks-"));
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

  it("federates a Slack- and a Discord-shaped post as the webhook's bot", async () => {
    const room = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Ops",
      visibility: "public",
    });
    const asked = await call<RoomBody>(b, bob.token, "POST", "/api/v1/rooms/join", { target: room.handle });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const mirror = await eventually("bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.body.id && r.membership === "joined");
    });

    const { url } = await ok<{ url: string; webhook: { handle: string } }>(
      201,
      a,
      alice.token,
      "POST",
      `/api/v1/rooms/${room.id}/webhooks`,
      { name: "Pager" },
    );
    const post = (path: string, body: unknown) =>
      fetch(`${a.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const path = new URL(url).pathname;
    expect((await post(path, { text: "Disk <https://status.example/d|90% full>" })).status).toBe(200);
    expect((await post(path, { content: "Recovered **now**", username: "ignored" })).status).toBe(200);
    // A wrong secret posts nothing, there or here.
    const forged = path.replace(/[^/]{43}$/, "A".repeat(43));
    expect((await post(forged, { content: "forged" })).status).toBe(404);

    const seen = await eventually("both posts on B", async () => {
      const { messages } = await ok<{ messages: MessageBody[] }>(
        200,
        b,
        bob.token,
        "GET",
        `/api/v1/rooms/${mirror.id}/messages?limit=100`,
      );
      const posted = messages.filter((m) => m.author?.displayName === "Pager");
      return posted.length >= 2 ? messages : undefined;
    });
    const posted = seen.filter((m) => m.author?.displayName === "Pager");
    expect(posted.map((m) => m.content)).toEqual(["Disk [90% full](https://status.example/d)", "Recovered **now**"]);
    // B knows the author as a bot of A (a `Service`), not as a person.
    expect(posted[0]?.author).toMatchObject({ bot: true });
    expect(posted[0]?.author?.handle).toMatch(new RegExp(`^webhook_[0-9a-f]{16}@${new URL(a.url).host}$`));
    expect(posted[0]?.html).toContain('href="https://status.example/d"');
    expect(seen.some((m) => m.content === "forged")).toBe(false);
  });
});
