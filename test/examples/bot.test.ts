import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { call, eventually, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// examples/bot/bot.ts as a bot author runs it: a child process that knows only the server's URL
// and a token, against a real server process. Between the bot and the server sits a forwarding
// proxy that keeps the hook secret the server hands the bot, so the test can sign requests
// correctly and show that the bot refuses exactly the bad ones.

const botEntry = fileURLToPath(new URL("../../examples/bot/bot.ts", import.meta.url));

interface Reply {
  ephemeral: boolean;
  message: { content: string; author: { id: string } } | null;
}
interface Message {
  content: string;
  author: { id: string };
  invitation?: { kind: string; title: string; invitees: { id: string }[] };
}

describe("the example bot", () => {
  let dir: string;
  let server: ServerProcess;
  let proxy: Server;
  let bot: ChildProcess;
  let botOutput = "";
  let botUrl: string;
  let secret = "";
  let alice: User;
  let bob: User;
  let botId: string;
  let roomId: string;

  const invoke = async (who: User, command: string, text: string) =>
    ok<{ reply: Reply }>(200, server, who.token, "POST", `/api/v1/rooms/${roomId}/interactions`, { command, text });
  const posted = async (who: User, command: string, text: string) => {
    const { reply } = await invoke(who, command, text);
    expect(reply.ephemeral).toBe(false);
    expect(reply.message?.author.id).toBe(botId);
    return reply.message?.content ?? "";
  };

  beforeAll(async () => {
    dir = preparedDataDir("fedchat-example-bot-");
    server = await startServer({ DATA_DIR: dir, RATE_LIMIT_FACTOR: "100", BOT_HOOKS_ALLOW_LOOPBACK: "true" });
    alice = await register(server, "alice");
    bob = await register(server, "bob");
    roomId = (
      await ok<{ id: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
        name: "games",
        visibility: "public",
      })
    ).id;
    await ok(200, server, bob.token, "POST", `/api/v1/rooms/${roomId}/join`);
    const made = await call<{ id: string }>(server, alice.token, "POST", "/api/v1/bots", { username: "playbot" });
    expect(made.status).toBeLessThan(300);
    botId = made.body.id;
    const minted = await call<{ secret: string }>(server, alice.token, "POST", "/api/v1/tokens", {
      name: "example bot",
      botId,
      scopes: ["write"],
    });
    expect(minted.status).toBeLessThan(300);
    const token = minted.body.secret;
    await ok(200, server, token, "POST", `/api/v1/rooms/${roomId}/join`);

    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const body = chunks.length ? Buffer.concat(chunks) : undefined;
        const headers: Record<string, string> = {};
        for (const name of ["authorization", "content-type"]) {
          const value = req.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        const answer = await fetch(`${server.url}${req.url}`, { method: req.method, headers, body });
        const text = await answer.text();
        if (req.method === "PUT" && req.url === "/api/v1/bot-hook" && answer.ok) secret = JSON.parse(text).secret;
        res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" }).end(text);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));

    const port = await freePort();
    botUrl = `http://127.0.0.1:${port}/`;
    bot = spawn(process.execPath, [botEntry], {
      env: {
        PATH: process.env.PATH ?? "",
        FEDCHAT_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        FEDCHAT_TOKEN: token,
        BOT_PORT: String(port),
        BOT_PUBLIC_URL: botUrl,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    bot.stdout?.on("data", (c: Buffer) => {
      botOutput += c.toString();
    });
    bot.stderr?.on("data", (c: Buffer) => {
      botOutput += c.toString();
    });
    await eventually("the bot listening", async () => (botOutput.includes("listening") ? true : undefined), 30_000);
  }, 90_000);

  afterAll(async () => {
    bot?.kill();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    if (server) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => console.error(`bot:\n${botOutput}\nserver:\n${server?.output().slice(-4000)}`));
  });

  it("registers its commands in the rooms it is in", async () => {
    const { commands } = await ok<{ commands: { name: string; usage: string }[] }>(
      200,
      server,
      alice.token,
      "GET",
      `/api/v1/rooms/${roomId}/commands`,
    );
    expect(commands.map((c) => c.name).sort()).toEqual(["echo", "move", "roll", "tictactoe"]);
    expect(commands.find((c) => c.name === "roll")?.usage).toBe("/roll <dice>");
  });

  it("rolls 2d6 in the room and refuses dice out of bounds", async () => {
    const content = await posted(alice, "roll", "2d6");
    const m = /2d6: (\d+) \+ (\d+) = \*\*(\d+)\*\*/.exec(content);
    expect(m, content).not.toBeNull();
    const [a, b, sum] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    for (const die of [a, b]) expect(die >= 1 && die <= 6, content).toBe(true);
    expect(sum).toBe(a + b);
    const history = await roomMessages<Message>(server, alice, roomId);
    expect(history.some((msg) => msg.content === content && msg.author.id === botId)).toBe(true);

    for (const bad of ["0d6", "21d6", "2d1", "2d10000", "d6", "2d6; drop"]) {
      const { reply } = await invoke(alice, "roll", bad);
      expect(reply, bad).toEqual({ ephemeral: true, message: null });
    }
  });

  it("echoes", async () => {
    expect(await posted(bob, "echo", "hello *there*")).toBe("hello *there*");
  });

  it("refuses a bad signature, an old timestamp or a replayed delivery, and takes a good one", async () => {
    expect(secret).toMatch(/^fcs_/);
    const body = JSON.stringify({
      type: "command",
      command: "echo",
      text: "signed",
      room: { id: roomId },
      user: { id: alice.id, username: "alice" },
    });
    const send = (ts: number, key: string, signed = body, sent = body, delivery?: string) =>
      fetch(botUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(delivery ? { "x-fedchat-delivery": delivery } : {}),
          "x-fedchat-timestamp": String(ts),
          "x-fedchat-signature": `v1=${createHmac("sha256", key).update(`v1:${ts}:${signed}`).digest("hex")}`,
        },
        body: sent,
      });
    const now = Math.floor(Date.now() / 1000);

    const good = await send(now, secret);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ content: "signed" });
    // The same delivery twice: the second is a replay, even with a good signature.
    expect((await send(now, secret, body, body, "d-1")).status).toBe(200);
    expect((await send(now, secret, body, body, "d-1")).status).toBe(409);

    expect((await send(now, "fcs_not-the-secret")).status).toBe(401);
    expect((await send(now, secret, body, body.replace("signed", "forged"))).status).toBe(401);
    expect((await send(now - 301, secret)).status).toBe(401);
    expect((await send(now + 301, secret)).status).toBe(401);
    expect((await fetch(botUrl, { method: "POST", body })).status).toBe(401);
  });

  it("sends a game invitation card and plays tic-tac-toe once it is accepted", async () => {
    expect(await posted(alice, "tictactoe", "@bob")).toContain("invited @bob");
    const card = await eventually("the card", async () =>
      (await roomMessages<Message & { id: string }>(server, alice, roomId)).find((m) => m.invitation),
    );
    expect(card.author.id).toBe(botId);
    expect(card.invitation).toMatchObject({ kind: "game", invitees: [{ id: bob.id }] });
    // One game per room.
    expect((await invoke(bob, "tictactoe", "@alice")).reply.ephemeral).toBe(true);
    // Not started until Bob accepts.
    expect((await invoke(alice, "move", "5")).reply.ephemeral).toBe(true);

    await ok(200, server, bob.token, "PUT", `/api/v1/rooms/${roomId}/messages/${card.id}/invitation/answer`, {
      answer: "accepted",
    });
    await eventually("the opening board", async () =>
      (await roomMessages<Message>(server, alice, roomId)).find((m) => m.content.includes("X plays first")),
    );

    expect(await posted(alice, "move", "1")).toContain("@bob to play");
    expect((await invoke(alice, "move", "2")).reply.ephemeral).toBe(true); // not her turn
    expect((await invoke(bob, "move", "1")).reply.ephemeral).toBe(true); // taken
    await posted(bob, "move", "4");
    await posted(alice, "move", "2");
    await posted(bob, "move", "5");
    const last = await posted(alice, "move", "3");
    expect(last).toContain("```\nX | X | X\n---------\nO | O | 6\n");
    expect(last).toContain("@alice (X) wins!");
    // The game is over: the room is free for another, which ends in a draw.
    expect((await invoke(bob, "move", "6")).reply.ephemeral).toBe(true);
    expect(await posted(bob, "tictactoe", "alice")).toContain("invited @alice");
    const cards = async () =>
      (await roomMessages<Message & { id: string }>(server, bob, roomId)).filter((m) => m.invitation);
    const second = await eventually("the second card", async () => (await cards())[1]);
    expect(second.invitation).toMatchObject({ kind: "game", invitees: [{ id: alice.id }] });
    await ok(200, server, alice.token, "PUT", `/api/v1/rooms/${roomId}/messages/${second.id}/invitation/answer`, {
      answer: "accepted",
    });
    await eventually(
      "the second opening board",
      async () =>
        (await roomMessages<Message>(server, bob, roomId)).filter((m) => m.content.includes("X plays first"))[1],
    );
    const moves: [User, string][] = [
      [bob, "1"],
      [alice, "2"],
      [bob, "3"],
      [alice, "5"],
      [bob, "4"],
      [alice, "6"],
      [bob, "8"],
      [alice, "7"],
    ];
    for (const [who, square] of moves) expect(await posted(who, "move", square)).toContain("to play");
    expect(await posted(bob, "move", "9")).toContain("A draw!");
  });
});
