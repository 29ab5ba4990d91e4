import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { botHookDeliveries, botHooks } from "../../src/db/schema.ts";
import { type BotReceiver, startBotReceiver } from "../helpers/bot-receiver.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, type LoggedIn, openStream, peek, registerUser, rows, type StreamEvent } from "./support.ts";

let t: TestInstance;
let receiver: BotReceiver;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100", BOT_HOOKS_ALLOW_LOOPBACK: "true" });
});
afterAll(async () => t?.dispose());
afterEach(async () => receiver?.close());

interface Setup {
  owner: LoggedIn;
  botId: string;
  bot: Record<string, string>;
  roomId: string;
  secret: string;
}

const weather = {
  name: "weather",
  description: "The weather in a city",
  arguments: [
    { name: "city", description: "Where", required: true },
    { name: "days", description: "How far ahead" },
  ],
};

/** An owner, their bot with a write token, a room both are in, the bot's commands and hook. */
async function setUp(prefix: string, events: string[] = []): Promise<Setup> {
  receiver = await startBotReceiver();
  const owner = await registerUser(t, `${prefix}_owner`);
  const created = await t.request(
    "/api/v1/bots",
    json("POST", { username: `${prefix}_bot` }, bearer(owner.accessToken)),
  );
  const botId = ((await created.json()) as { id: string }).id;
  const token = await t.request(
    "/api/v1/tokens",
    json("POST", { name: "bot", botId, scopes: ["write"] }, bearer(owner.accessToken)),
  );
  const bot = bearer(((await token.json()) as { secret: string }).secret);
  const room = await t.request(
    "/api/v1/rooms",
    json("POST", { name: prefix, visibility: "public" }, bearer(owner.accessToken)),
  );
  const roomId = ((await room.json()) as { id: string }).id;
  expect((await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: bot })).status).toBe(200);
  const commands = await t.request("/api/v1/commands", json("PUT", { commands: [weather] }, bot));
  expect(commands.status, await peek(commands)).toBe(200);
  const hook = await t.request("/api/v1/bot-hook", json("PUT", { url: receiver.url, events }, bot));
  expect(hook.status, await peek(hook)).toBe(200);
  const { secret } = (await hook.json()) as { secret: string };
  receiver.secret = secret;
  return { owner, botId, bot, roomId, secret };
}

const invoke = (s: Setup, who: LoggedIn, body: Record<string, unknown>) =>
  t.request(`/api/v1/rooms/${s.roomId}/interactions`, json("POST", body, bearer(who.accessToken)));

async function history(s: Setup): Promise<{ content: string; author: { id: string } }[]> {
  const res = await t.request(`/api/v1/rooms/${s.roomId}/messages`, { headers: bearer(s.owner.accessToken) });
  return ((await res.json()) as { messages: { content: string; author: { id: string } }[] }).messages;
}

describe("slash commands", () => {
  it("lets a bot register commands and a hook whose secret is shown once", async () => {
    const s = await setUp("reg");
    expect(s.secret).toMatch(/^fcs_[A-Za-z0-9_-]{43}$/);
    const hook = await t.request("/api/v1/bot-hook", { headers: s.bot });
    const text = await hook.text();
    expect(text).not.toContain(s.secret);
    expect(JSON.parse(text)).toMatchObject({ hook: { url: receiver.url, events: [] } });
    expect(await (await t.request("/api/v1/commands", { headers: s.bot })).json()).toMatchObject({
      commands: [{ name: "weather", usage: "/weather <city> [days]" }],
    });

    const listed = await t.request(`/api/v1/rooms/${s.roomId}/commands`, { headers: bearer(s.owner.accessToken) });
    expect(await listed.json()).toMatchObject({
      commands: [{ name: "weather", description: "The weather in a city", bot: { id: s.botId, username: "reg_bot" } }],
    });
    // A person is no bot; an outsider of a public room sees no commands; bad input changes nothing.
    await expectProblem(
      await t.request("/api/v1/commands", json("PUT", { commands: [weather] }, bearer(s.owner.accessToken))),
      403,
      "forbidden",
    );
    const outsider = await registerUser(t, "reg_outsider");
    await expectProblem(
      await t.request(`/api/v1/rooms/${s.roomId}/commands`, { headers: bearer(outsider.accessToken) }),
      403,
      "not_a_member",
    );
    for (const bad of [
      { commands: [{ ...weather, name: "Bad Name" }] },
      { commands: [weather, weather] },
      { commands: [{ ...weather, arguments: [{ name: "a" }, { name: "b", required: true }] }] },
    ]) {
      await expectProblem(await t.request("/api/v1/commands", json("PUT", bad, s.bot)), 422, "validation_failed");
    }
    await expectProblem(
      await t.request("/api/v1/bot-hook", json("PUT", { url: "ftp://example.com/x" }, s.bot)),
      422,
      "validation_failed",
    );
    expect(
      ((await (await t.request("/api/v1/commands", { headers: s.bot })).json()) as { commands: [] }).commands,
    ).toHaveLength(1);

    // Without a hook, the commands are not offered.
    expect((await t.request("/api/v1/bot-hook", { method: "DELETE", headers: s.bot })).status).toBe(204);
    const none = await t.request(`/api/v1/rooms/${s.roomId}/commands`, { headers: bearer(s.owner.accessToken) });
    expect(await none.json()).toEqual({ commands: [] });
    await expectProblem(await invoke(s, s.owner, { command: "weather", text: "Oslo" }), 404, "command_not_found");
  });

  it("POSTs a signed request and posts the bot's answer as the bot, never the command", async () => {
    const s = await setUp("sig");
    receiver.answer = (call) => ({
      status: 200,
      body: JSON.stringify({ content: `Sunny in ${(call.json.args as { city: string }).city}` }),
    });
    const res = await invoke(s, s.owner, { command: "weather", text: "  Oslo  3 " });
    expect(res.status, await peek(res)).toBe(200);
    const result = (await res.json()) as {
      interaction: { id: string };
      reply: { ephemeral: boolean; message: { content: string; author: { id: string } } };
    };
    expect(result.reply).toMatchObject({
      ephemeral: false,
      message: { content: "Sunny in Oslo", author: { id: s.botId } },
    });

    const [call] = await receiver.waitFor(1);
    expect(call?.verified).toEqual({ ok: true });
    expect(call?.headers["x-fedchat-delivery"]).toBe(result.interaction.id);
    expect(call?.json).toMatchObject({
      type: "command",
      interactionId: result.interaction.id,
      command: "weather",
      text: "Oslo  3",
      args: { city: "Oslo", days: "3" },
      room: { id: s.roomId },
      user: { id: s.owner.user.id, username: "sig_owner" },
    });
    expect(Math.abs(Number(call?.headers["x-fedchat-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    expect((await history(s)).map((m) => m.content)).toEqual(["Sunny in Oslo"]);

    // A missing required argument is refused before the bot is called.
    await expectProblem(await invoke(s, s.owner, { command: "weather", text: " " }), 422, "validation_failed");
    expect(receiver.calls).toHaveLength(1);
  });

  it("refuses when the bot refuses the signature (a rotated secret) or cannot be reached", async () => {
    const s = await setUp("bad");
    receiver.answer = () => ({ status: 200, body: JSON.stringify({ content: "ok" }) });
    // The bot still checks with its old secret: every request fails its check.
    const rotated = await t.request("/api/v1/bot-hook", json("PUT", { url: receiver.url }, s.bot));
    expect(((await rotated.json()) as { secret: string }).secret).not.toBe(s.secret);
    const refused = await expectProblem(
      await invoke(s, s.owner, { command: "weather", text: "Rome" }),
      502,
      "bot_unavailable",
    );
    expect(refused.details).toMatchObject({ reason: "status" });
    expect(receiver.calls[0]?.verified).toEqual({ ok: false, reason: "signature" });
    expect(await history(s)).toEqual([]);
    expect(await rows(t, sql`select id from command_interactions where bot_id = ${s.botId}`)).toEqual([]);

    // An answer that is not {content}.
    receiver.secret = (
      (await (await t.request("/api/v1/bot-hook", json("PUT", { url: receiver.url }, s.bot))).json()) as {
        secret: string;
      }
    ).secret;
    receiver.answer = () => ({ status: 200, body: "<html>hi</html>" });
    await expectProblem(await invoke(s, s.owner, { command: "weather", text: "Rome" }), 502, "bot_unavailable");
    // Gone.
    await receiver.close();
    await expectProblem(await invoke(s, s.owner, { command: "weather", text: "Rome" }), 502, "bot_unavailable");
    expect(await history(s)).toEqual([]);
  });

  it("shows an ephemeral answer only on the invoker's stream, and stores nothing", async () => {
    const s = await setUp("eph");
    const carol = await registerUser(t, "eph_carol");
    await t.request(`/api/v1/rooms/${s.roomId}/join`, { method: "POST", headers: bearer(carol.accessToken) });
    const mine = await openStream(t, bearer(s.owner.accessToken));
    const hers = await openStream(t, bearer(carol.accessToken));
    expect((await mine.take(1))[0]?.type).toBe("ready");
    expect((await hers.take(1))[0]?.type).toBe("ready");

    receiver.answer = () => ({
      status: 200,
      body: JSON.stringify({ content: "Only **you** see this", ephemeral: true }),
    });
    const res = await invoke(s, s.owner, { command: "weather", text: "Lima" });
    expect(await res.json()).toMatchObject({ reply: { ephemeral: true, message: null } });
    const event = await nextEvent(mine);
    expect(event).toMatchObject({
      type: "command.reply",
      roomId: s.roomId,
      data: { command: "weather", content: "Only **you** see this", bot: { id: s.botId } },
    });
    expect(event?.data.html).toContain("<strong>you</strong>");

    // Carol's next event is the message sent after the answer: she never got the answer.
    await t.request(
      `/api/v1/rooms/${s.roomId}/messages/after`,
      json("PUT", { content: "after" }, bearer(s.owner.accessToken)),
    );
    const next = await nextEvent(hers);
    expect(next).toMatchObject({ type: "message.created", data: { message: { content: "after" } } });
    expect((await history(s)).map((m) => m.content)).toEqual(["after"]);
    await mine.close();
    await hers.close();
  });

  it("takes a later answer through the API from the bot it called, and only from it", async () => {
    const s = await setUp("later");
    receiver.answer = () => ({ status: 204 });
    const res = await invoke(s, s.owner, { command: "weather", text: "Paris" });
    const { interaction, reply } = (await res.json()) as { interaction: { id: string }; reply: null };
    expect(reply).toBeNull();
    const [call] = await receiver.waitFor(1);
    const replyUrl = new URL(call?.json.replyUrl as string);
    expect(replyUrl.pathname).toBe(`/api/v1/rooms/${s.roomId}/interactions/${interaction.id}/reply`);

    const answered = await t.request(replyUrl.pathname, json("POST", { content: "Rain in Paris" }, s.bot));
    expect(answered.status, await peek(answered)).toBe(200);
    expect(await answered.json()).toMatchObject({
      ephemeral: false,
      message: { content: "Rain in Paris", author: { id: s.botId } },
    });
    // Someone else (the invoker, here) cannot answer in the bot's name.
    await expectProblem(
      await t.request(replyUrl.pathname, json("POST", { content: "forged" }, bearer(s.owner.accessToken))),
      404,
      "interaction_not_found",
    );
    // An expired interaction takes no more answers.
    await t.deps.db.execute(
      sql`update command_interactions set expires_at = now() - interval '1 second' where id = ${interaction.id}`,
    );
    await expectProblem(
      await t.request(replyUrl.pathname, json("POST", { content: "too late" }, s.bot)),
      410,
      "interaction_expired",
    );
    expect((await history(s)).map((m) => m.content)).toEqual(["Rain in Paris"]);
  });
});

describe("events pushed to a bot's URL", () => {
  it("pushes messages of its rooms, signed, retrying a failed delivery", async () => {
    const s = await setUp("push", ["message.created"]);
    let failures = 1;
    receiver.answer = () => (failures-- > 0 ? { status: 500 } : { status: 204 });
    const sent = await t.request(
      `/api/v1/rooms/${s.roomId}/messages/p1`,
      json("PUT", { content: "hello bot" }, bearer(s.owner.accessToken)),
    );
    expect(sent.status).toBe(201);
    // Its own messages are not pushed back to it.
    await t.request(`/api/v1/rooms/${s.roomId}/messages/p2`, json("PUT", { content: "mine" }, s.bot));
    const calls = await receiver.waitFor(2);
    for (const call of calls) {
      expect(call.verified).toEqual({ ok: true });
      expect(call.json).toMatchObject({
        type: "event",
        event: { type: "message.created", roomId: s.roomId, data: { message: { content: "hello bot" } } },
      });
    }
    // The retry is the same delivery.
    expect(calls[1]?.headers["x-fedchat-delivery"]).toBe(calls[0]?.headers["x-fedchat-delivery"]);
    const deadline = Date.now() + 5000;
    while ((await queued(s.botId)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await queued(s.botId)).toBe(0);
    expect(receiver.calls.some((c) => JSON.stringify(c.json).includes('"mine"'))).toBe(false);
  });

  it("keeps at most 100 pushes per bot while its URL fails", async () => {
    const s = await setUp("full", ["message.created"]);
    receiver.answer = () => ({ status: 503 });
    for (let i = 0; i < 110; i++) {
      await t.request(
        `/api/v1/rooms/${s.roomId}/messages/f${i}`,
        json("PUT", { content: `m${i}` }, bearer(s.owner.accessToken)),
      );
    }
    const deadline = Date.now() + 10_000;
    // Wait until the pusher has read past the last message.
    for (;;) {
      const [cursor] = await rows<{ behind: boolean }>(
        t,
        sql`select (select position from bot_hook_cursor) < (select position from stream_position) as behind`,
      );
      if (!cursor?.behind || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await queued(s.botId)).toBe(100);
    const kept = await t.deps.db
      .select({ body: botHookDeliveries.body })
      .from(botHookDeliveries)
      .where(eq(botHookDeliveries.botId, s.botId));
    // The newest are kept.
    expect(kept.some((k) => k.body.includes('"m109"'))).toBe(true);
    expect(kept.some((k) => k.body.includes('"m0"'))).toBe(false);
    // Removing the hook drops them.
    await t.request("/api/v1/bot-hook", { method: "DELETE", headers: s.bot });
    expect(await queued(s.botId)).toBe(0);
    expect(await t.deps.db.select().from(botHooks).where(eq(botHooks.botId, s.botId))).toEqual([]);
  });
});

/** The next event that is not someone's presence (which comes whenever people connect). */
async function nextEvent(stream: Awaited<ReturnType<typeof openStream>>): Promise<StreamEvent | undefined> {
  for (;;) {
    const [event] = await stream.take(1);
    if (event?.type !== "presence") return event;
  }
}

async function queued(botId: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    t,
    sql`select count(*)::int as n from bot_hook_deliveries where bot_id = ${botId}`,
  );
  return Number(row?.n ?? 0);
}

describe("bot hook addresses", () => {
  it("refuses loopback and plain http without BOT_HOOKS_ALLOW_LOOPBACK", async () => {
    const strict = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
    try {
      const owner = await registerUser(strict, "strict_owner");
      const created = await strict.request(
        "/api/v1/bots",
        json("POST", { username: "strict_bot" }, bearer(owner.accessToken)),
      );
      const botId = ((await created.json()) as { id: string }).id;
      const token = await strict.request(
        "/api/v1/tokens",
        json("POST", { name: "bot", botId, scopes: ["write"] }, bearer(owner.accessToken)),
      );
      const bot = bearer(((await token.json()) as { secret: string }).secret);
      await expectProblem(
        await strict.request("/api/v1/bot-hook", json("PUT", { url: "http://127.0.0.1:9/hook" }, bot)),
        422,
        "validation_failed",
      );
      const room = await strict.request(
        "/api/v1/rooms",
        json("POST", { name: "strict", visibility: "public" }, bearer(owner.accessToken)),
      );
      const roomId = ((await room.json()) as { id: string }).id;
      await strict.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: bot });
      await strict.request("/api/v1/commands", json("PUT", { commands: [weather] }, bot));
      expect(
        (await strict.request("/api/v1/bot-hook", json("PUT", { url: "https://127.0.0.1:9/hook" }, bot))).status,
      ).toBe(200);
      const refused = await expectProblem(
        await strict.request(
          `/api/v1/rooms/${roomId}/interactions`,
          json("POST", { command: "weather", text: "x" }, bearer(owner.accessToken)),
        ),
        502,
        "bot_unavailable",
      );
      expect(refused.details).toMatchObject({ reason: "private_address" });
    } finally {
      await strict.dispose();
    }
  });
});
