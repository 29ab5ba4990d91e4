/**
 * An example fedchat bot: `/echo`, `/roll 2d6` and `/tictactoe @user` (then `/move 1`–`/move 9`).
 * It uses only the public HTTP API and a bot's token, and Node's built-ins: run it with
 * `node examples/bot/bot.ts` (Node 24 runs TypeScript as is). See README.md beside it.
 * @module
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

// ---- Configuration ----

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see examples/bot/README.md)`);
  return value;
}
const server = need("FEDCHAT_URL").replace(/\/+$/, "");
const token = need("FEDCHAT_TOKEN");
const port = Number(process.env.BOT_PORT ?? "8787");
const publicUrl = process.env.BOT_PUBLIC_URL ?? `http://127.0.0.1:${port}/`;

// ---- The signature check (a copy of src/bots/signature.ts's verifyBotRequest) ----

const replayWindowSeconds = 300;

/** Whether a request was signed with `secret` within the replay window; the reason when not. */
function verify(
  secret: string,
  signature: string | undefined,
  timestamp: string | undefined,
  body: Buffer,
  now = Date.now(),
): "ok" | "missing" | "timestamp" | "signature" {
  if (!signature || !timestamp) return "missing";
  if (!/^\d{1,12}$/.test(timestamp)) return "timestamp";
  if (Math.abs(now / 1000 - Number(timestamp)) > replayWindowSeconds) return "timestamp";
  const mac = createHmac("sha256", secret).update(`v1:${timestamp}:`).update(body).digest("hex");
  const expected = Buffer.from(`v1=${mac}`);
  const given = Buffer.from(signature);
  // Constant time, so a guess learns nothing from how long the comparison took.
  return given.length === expected.length && timingSafeEqual(given, expected) ? "ok" : "signature";
}

// ---- The fedchat API ----

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

const post = (roomId: string, content: string) =>
  api("PUT", `/api/v1/rooms/${roomId}/messages/bot-${randomUUID()}`, { content });

// ---- Commands ----

interface Call {
  type: string;
  command: string;
  text: string;
  room: { id: string };
  user: { id: string; username: string };
}
type Answer = { content: string; ephemeral?: boolean };

const commands = [
  {
    name: "echo",
    description: "Say it back",
    arguments: [{ name: "text", description: "What to say", required: true }],
  },
  { name: "roll", description: "Roll dice", arguments: [{ name: "dice", description: "like 2d6", required: true }] },
  {
    name: "tictactoe",
    description: "Invite someone to tic-tac-toe",
    arguments: [{ name: "user", description: "@username", required: true }],
  },
  { name: "move", description: "Play a square (1–9)", arguments: [{ name: "square", required: true }] },
];

/** `NdM`: 1–20 dice of 2–1000 sides. */
function roll(spec: string, random = Math.random): Answer {
  const m = /^(\d{1,2})d(\d{1,4})$/i.exec(spec.trim());
  const count = Number(m?.[1]);
  const sides = Number(m?.[2]);
  if (!m || count < 1 || count > 20 || sides < 2 || sides > 1000) {
    return { content: "Roll like `/roll 2d6`: 1–20 dice of 2–1000 sides.", ephemeral: true };
  }
  const rolls = Array.from({ length: count }, () => 1 + Math.floor(random() * sides));
  const sum = rolls.reduce((a, b) => a + b, 0);
  return { content: `🎲 ${count}d${sides}: ${rolls.join(" + ")} = **${sum}**` };
}

// ---- Tic-tac-toe: one game per room, in memory ----

interface Game {
  players: [string, string]; // user ids: X (who invited), O (who was invited)
  names: [string, string];
  board: string[]; // "X", "O" or ""
  turn: 0 | 1;
  started: boolean;
}
const games = new Map<string, Game>();
const lines = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
];

function winner(board: string[]): string | null {
  for (const [a, b, c] of lines) {
    const mark = board[a as number];
    if (mark && mark === board[b as number] && mark === board[c as number]) return mark;
  }
  return board.every((s) => s) ? "draw" : null;
}

const render = (board: string[]) =>
  `\`\`\`\n${[0, 3, 6].map((r) => [0, 1, 2].map((c) => board[r + c] || String(r + c + 1)).join(" | ")).join("\n---------\n")}\n\`\`\``;

async function invite(call: Call): Promise<Answer> {
  const roomId = call.room.id;
  if (games.has(roomId)) return { content: "A game is already on in this room.", ephemeral: true };
  // `@bob` or `@bob@other.example`; handles come as `bob@chat.example`.
  const wanted = call.text.trim().replace(/^@/, "").toLowerCase();
  const name = wanted.split("@")[0] ?? "";
  const { members } = await api<{ members: { actor: { id: string; handle: string } }[] }>(
    "GET",
    `/api/v1/rooms/${roomId}/members`,
  );
  const found = members.filter((m) => {
    const handle = m.actor.handle.replace(/^@/, "").toLowerCase();
    return wanted.includes("@") ? handle === wanted : handle.split("@")[0] === wanted;
  });
  const them = found[0];
  if (found.length !== 1 || !them || them.actor.id === call.user.id) {
    const hint = found.length > 1 ? "Say which one, like `@bob@chat.example`." : "Invite someone else in this room.";
    return { content: `${hint} Usage: \`/tictactoe @${name || "bob"}\``, ephemeral: true };
  }
  const game: Game = {
    players: [call.user.id, them.actor.id],
    names: [call.user.username, name],
    board: Array(9).fill(""),
    turn: 0,
    started: false,
  };
  games.set(roomId, game);
  const card = await api<{ id: string }>("PUT", `/api/v1/rooms/${roomId}/invitations/ttt-${randomUUID()}`, {
    kind: "game",
    title: `Tic-tac-toe with @${call.user.username}`,
    to: [them.actor.id],
    expiresIn: 600,
  });
  void waitForAnswer(roomId, card.id, game);
  return { content: `@${call.user.username} invited @${name} to tic-tac-toe.` };
}

/** Polls the card until it is answered or expires; a bot could hold the live stream instead. */
async function waitForAnswer(roomId: string, messageId: string, game: Game) {
  type Card = { invitation?: { expired: boolean; responses: { actor: { id: string }; answer: string }[] } };
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      if (games.get(roomId) !== game) return;
      const { invitation } = await api<Card>("GET", `/api/v1/rooms/${roomId}/messages/${messageId}`);
      const answer = invitation?.responses.find((r) => r.actor.id === game.players[1])?.answer;
      if (answer === "accepted") {
        game.started = true;
        await post(
          roomId,
          `@${game.names[0]} (X) vs @${game.names[1]} (O). X plays first: \`/move 5\`\n${render(game.board)}`,
        );
        return;
      }
      if (answer === "declined" || !invitation || invitation.expired) {
        games.delete(roomId);
        await post(roomId, `No tic-tac-toe this time (${answer ?? "not answered"}).`);
        return;
      }
    }
  } catch (error) {
    games.delete(roomId);
    console.error("tictactoe:", error);
  }
}

function move(call: Call): Answer {
  const game = games.get(call.room.id);
  if (!game?.started) return { content: "No game is on here: start one with `/tictactoe @user`.", ephemeral: true };
  if (game.players[game.turn] !== call.user.id) return { content: "It is not your turn.", ephemeral: true };
  const square = Number(call.text.trim());
  if (!Number.isInteger(square) || square < 1 || square > 9 || game.board[square - 1]) {
    return { content: "Pick a free square, 1 to 9.", ephemeral: true };
  }
  const mark = game.turn === 0 ? "X" : "O";
  game.board[square - 1] = mark;
  const result = winner(game.board);
  if (result) games.delete(call.room.id);
  game.turn = game.turn === 0 ? 1 : 0;
  const next =
    result === "draw"
      ? "A draw!"
      : result
        ? `@${call.user.username} (${mark}) wins!`
        : `@${game.names[game.turn]} to play.`;
  return { content: `${render(game.board)}\n${next}` };
}

async function answer(call: Call): Promise<Answer> {
  switch (call.command) {
    case "echo":
      return { content: call.text || "…" };
    case "roll":
      return roll(call.text);
    case "tictactoe":
      return await invite(call);
    case "move":
      return move(call);
    default:
      return { content: `I do not know /${call.command}.`, ephemeral: true };
  }
}

// ---- Start: declare the commands, set the hook, listen ----

await api("PUT", "/api/v1/commands", { commands });
const { secret } = await api<{ secret: string }>("PUT", "/api/v1/bot-hook", { url: publicUrl });

/** Delivery ids of the last {@link replayWindowSeconds}, with when they came. */
const seen = new Map<string, number>();

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(body === undefined ? "" : JSON.stringify(body));
    };
    const body = Buffer.concat(chunks);
    const header = (name: string) => req.headers[name] as string | undefined;
    const checked = verify(secret, header("x-fedchat-signature"), header("x-fedchat-timestamp"), body);
    if (req.method !== "POST") return reply(405);
    if (checked !== "ok") return reply(401, { error: checked });
    // A delivery id seen in the last window is a replay of a captured request (or a retry).
    const delivery = header("x-fedchat-delivery");
    if (delivery) {
      for (const [id, at] of seen) if (at < Date.now() - replayWindowSeconds * 1000) seen.delete(id);
      if (seen.has(delivery)) return reply(409, { error: "replayed" });
      seen.set(delivery, Date.now());
    }
    try {
      const call = JSON.parse(body.toString("utf8")) as Call;
      if (call.type !== "command") return reply(204);
      reply(200, await answer(call));
    } catch (error) {
      console.error(error);
      reply(500);
    }
  });
}).listen(port, () => console.log(`fedchat example bot listening on ${port}, called at ${publicUrl}`));
