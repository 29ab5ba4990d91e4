import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole, suspendUser } from "../../src/accounts/admin.ts";
import { personalAccessTokens, sessions, users } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, type LoggedIn, openStream, peek, registerUser, rows } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => t?.dispose());

interface ApiBot {
  id: string;
  username: string;
  displayName: string;
  bio: string;
  bot: boolean;
}
interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  user: { id: string; username: string; bot: boolean };
  expiresAt: string | null;
}

async function makeBot(owner: LoggedIn, username: string, extra: Record<string, unknown> = {}): Promise<ApiBot> {
  const res = await t.request("/api/v1/bots", json("POST", { username, ...extra }, bearer(owner.accessToken)));
  expect(res.status, await peek(res)).toBe(201);
  return (await res.json()) as ApiBot;
}

async function makeToken(
  owner: LoggedIn,
  body: Record<string, unknown>,
): Promise<{ token: ApiToken; secret: string; headers: Record<string, string> }> {
  const res = await t.request("/api/v1/tokens", json("POST", { name: "test", ...body }, bearer(owner.accessToken)));
  expect(res.status, await peek(res)).toBe(201);
  const created = (await res.json()) as { token: ApiToken; secret: string };
  return { ...created, headers: bearer(created.secret) };
}

async function makeRoom(owner: LoggedIn, name: string): Promise<string> {
  const res = await t.request("/api/v1/rooms", json("POST", { name, visibility: "public" }, bearer(owner.accessToken)));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const send = (roomId: string, txn: string, headers: Record<string, string>, content = "beep") =>
  t.request(`/api/v1/rooms/${roomId}/messages/${txn}`, json("PUT", { content }, headers));

describe("bots and personal access tokens", () => {
  it("lets a bot with a write token join a room and post, marked as a bot", async () => {
    const alice = await registerUser(t, "alice");
    const bot = await makeBot(alice, "helper_bot", { displayName: "Helper", bio: "I help." });
    expect(bot).toMatchObject({ username: "helper_bot", displayName: "Helper", bio: "I help.", bot: true });
    const { token, secret, headers } = await makeToken(alice, { botId: bot.id, scopes: ["write"] });
    expect(secret).toMatch(/^fct_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ scopes: ["write"], user: { id: bot.id, bot: true }, expiresAt: null });
    expect(secret.startsWith(token.prefix)).toBe(true);

    const me = await t.request("/api/v1/me", { headers });
    expect(await me.json()).toMatchObject({ id: bot.id, bot: true });
    const roomId = await makeRoom(alice, "Bots welcome");
    expect((await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers })).status).toBe(200);
    const sent = await send(roomId, "b1", headers);
    expect(sent.status, await peek(sent)).toBe(201);
    expect(await sent.json()).toMatchObject({ author: { id: bot.id, bot: true } });

    const members = await t.request(`/api/v1/rooms/${roomId}/members`, { headers: bearer(alice.accessToken) });
    const list = (await members.json()) as { members: { actor: { id: string; bot?: boolean } }[] };
    expect(list.members.find((m) => m.actor.id === bot.id)?.actor.bot).toBe(true);
    expect(list.members.find((m) => m.actor.id === alice.user.id)?.actor.bot).toBeUndefined();

    // A bot cannot log in: it has no password.
    await expectProblem(
      await t.request("/api/v1/auth/login", json("POST", { username: "helper_bot", password: "anything at all" })),
      401,
      "invalid_credentials",
    );
  });

  it("refuses a read token's post with 403 token_scope, and lets it read", async () => {
    const bob = await registerUser(t, "bob");
    const roomId = await makeRoom(bob, "Read only");
    const { headers } = await makeToken(bob, { scopes: ["read"] });
    expect((await t.request(`/api/v1/rooms/${roomId}/messages`, { headers })).status).toBe(200);
    await expectProblem(await send(roomId, "r1", headers), 403, "token_scope");
  });

  it("refuses a revoked token on its next request, and lists tokens without secrets", async () => {
    const carol = await registerUser(t, "carol");
    const { token, secret, headers } = await makeToken(carol, { name: "script", scopes: ["read", "write"] });
    expect((await t.request("/api/v1/me", { headers })).status).toBe(200);
    const listed = await t.request("/api/v1/tokens", { headers: bearer(carol.accessToken) });
    const text = await listed.text();
    expect(text).not.toContain(secret);
    expect((JSON.parse(text) as { tokens: ApiToken[] }).tokens.map((x) => x.name)).toEqual(["script"]);

    const revoked = await t.request(`/api/v1/tokens/${token.id}`, {
      method: "DELETE",
      headers: bearer(carol.accessToken),
    });
    expect(revoked.status).toBe(204);
    await expectProblem(await t.request("/api/v1/me", { headers }), 401, "unauthenticated");
    const after = await t.request("/api/v1/tokens", { headers: bearer(carol.accessToken) });
    expect(((await after.json()) as { tokens: ApiToken[] }).tokens).toEqual([]);
    await expectProblem(
      await t.request(`/api/v1/tokens/${token.id}`, { method: "DELETE", headers: bearer(carol.accessToken) }),
      404,
      "token_not_found",
    );
  });

  it("stores only the token's hash", async () => {
    const dave = await registerUser(t, "dave");
    const { token, secret } = await makeToken(dave, { scopes: ["read"] });
    const [row] = await t.database.db.select().from(personalAccessTokens).where(eq(personalAccessTokens.id, token.id));
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));
    const all = await rows<{ dump: string }>(t, sql`select row_to_json(p)::text as dump from personal_access_tokens p`);
    for (const { dump } of all) expect(dump).not.toContain(secret.slice(8));
  });

  it("refuses an expired token", async () => {
    const erin = await registerUser(t, "erin");
    const { token, headers } = await makeToken(erin, { scopes: ["read"], expiresInDays: 1 });
    expect(token.expiresAt).not.toBeNull();
    expect((await t.request("/api/v1/me", { headers })).status).toBe(200);
    // A day later, as the database sees it.
    await t.database.db
      .update(sessions)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(sql`${sessions.id} = (select session_id from personal_access_tokens where id = ${token.id})`);
    await expectProblem(await t.request("/api/v1/me", { headers }), 401, "unauthenticated");
  });

  it("never lets a token manage tokens, bots, passwords or sessions", async () => {
    const frank = await registerUser(t, "frank");
    const { headers } = await makeToken(frank, { scopes: ["write"] });
    await expectProblem(
      await t.request("/api/v1/tokens", json("POST", { name: "more", scopes: ["write"] }, headers)),
      403,
      "token_scope",
    );
    await expectProblem(await t.request("/api/v1/tokens", { headers }), 403, "token_scope");
    // However the path is spelt.
    for (const path of ["/api/v1/%74okens", "/api/v1/./tokens", "/api/v1/bots/../tokens"]) {
      await expectProblem(await t.request(path, { headers }), 403, "token_scope");
    }
    // A path the router does not know is not found, scope or not.
    await expectProblem(await t.request("/api/v1//tokens", { headers }), 404, "not_found");
    await expectProblem(
      await t.request("/api/v1/bots", json("POST", { username: "x_bot" }, headers)),
      403,
      "token_scope",
    );
    await expectProblem(await t.request("/api/v1/auth/sessions", { headers }), 403, "token_scope");
    // An admin's token does not reach the server's administration either.
    await setRole(t.deps, "frank", "admin");
    await expectProblem(await t.request("/api/v1/admin/access-rules", { headers }), 403, "token_scope");
    await expectProblem(
      await t.request("/api/v1/admin/access-rules", json("POST", { cidr: "0.0.0.0/0", action: "deny" }, headers)),
      403,
      "token_scope",
    );
    await expectProblem(await t.request("/api/v1/admin/registrations", { headers }), 403, "token_scope");
    await setRole(t.deps, "frank", "user");
    await expectProblem(
      await t.request("/api/v1/auth/password", json("POST", { currentPassword: "a", newPassword: "b" }, headers)),
      403,
      "token_scope",
    );
  });

  it("limits a rooms:<id> token to that room", async () => {
    const gina = await registerUser(t, "gina");
    const inside = await makeRoom(gina, "Inside");
    const outside = await makeRoom(gina, "Outside");
    const { headers } = await makeToken(gina, { scopes: ["write", `rooms:${inside}`] });
    expect((await send(inside, "in1", headers)).status).toBe(201);
    await expectProblem(await send(outside, "out1", headers), 403, "token_scope");
    await expectProblem(await t.request("/api/v1/rooms", { headers }), 403, "token_scope");
    await expectProblem(await t.request("/api/v1/stream/ticket", { method: "POST", headers }), 403, "token_scope");
    expect((await t.request("/api/v1/me", { headers })).status).toBe(200);
  });

  it("opens the live stream with a token", async () => {
    const hank = await registerUser(t, "hank");
    const bot = await makeBot(hank, "stream_bot");
    const { headers } = await makeToken(hank, { botId: bot.id, scopes: ["read"] });
    const roomId = await makeRoom(hank, "Streamed");
    const join = await makeToken(hank, { botId: bot.id, scopes: ["write"] });
    await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: join.headers });
    const stream = await openStream(t, headers);
    expect((await stream.take(1))[0]?.type).toBe("ready");
    await send(roomId, "s1", bearer(hank.accessToken), "hello bot");
    const got: Awaited<ReturnType<typeof stream.take>> = [];
    while (!got.some((e) => e.type === "message.created")) got.push(...(await stream.take(1)));
    expect(got.find((e) => e.type === "message.created")?.roomId).toBe(roomId);
    // Revoking the token ends its stream (the hub checks streams' sessions every two seconds).
    const tokens = await t.request("/api/v1/tokens", { headers: bearer(hank.accessToken) });
    const readToken = ((await tokens.json()) as { tokens: ApiToken[] }).tokens.find((x) => x.scopes[0] === "read");
    await t.request(`/api/v1/tokens/${readToken?.id}`, { method: "DELETE", headers: bearer(hank.accessToken) });
    expect(await stream.ended()).toBe(true);
  });

  it("keeps bots out of a room that forbids them", async () => {
    const ivy = await registerUser(t, "ivy");
    const bot = await makeBot(ivy, "nosy_bot");
    const { headers } = await makeToken(ivy, { botId: bot.id, scopes: ["write"] });
    const open = await makeRoom(ivy, "Was open");
    expect((await t.request(`/api/v1/rooms/${open}/join`, { method: "POST", headers })).status).toBe(200);
    const before = (await (await send(open, "n0", headers)).json()) as { id: string };
    const closed = await makeRoom(ivy, "No bots");
    const changed = await t.request(
      `/api/v1/rooms/${closed}`,
      json("PATCH", { allowBots: false }, bearer(ivy.accessToken)),
    );
    expect(await changed.json()).toMatchObject({ allowBots: false });
    await expectProblem(
      await t.request(`/api/v1/rooms/${closed}/join`, { method: "POST", headers }),
      403,
      "bots_forbidden",
    );
    // Turned off later: the bot stays a member but cannot post.
    await t.request(`/api/v1/rooms/${open}`, json("PATCH", { allowBots: false }, bearer(ivy.accessToken)));
    await expectProblem(await send(open, "n1", headers), 403, "bots_forbidden");
    // Nor edit what it posted before (a way to mention everyone anew), nor react.
    await expectProblem(
      await t.request(`/api/v1/rooms/${open}/messages/${before.id}`, json("PATCH", { content: "@ivy spam" }, headers)),
      403,
      "bots_forbidden",
    );
    await expectProblem(
      await t.request(`/api/v1/rooms/${open}/messages/${before.id}/reactions/${encodeURIComponent("👍")}`, {
        method: "PUT",
        headers,
      }),
      403,
      "bots_forbidden",
    );
    // People are not affected.
    expect((await send(open, "n2", bearer(ivy.accessToken))).status).toBe(201);
  });

  it("lets owners list, change and delete their bots, at most 10 each", async () => {
    const jack = await registerUser(t, "jack");
    const other = await registerUser(t, "kate");
    const bot = await makeBot(jack, "jacks_bot");
    const patched = await t.request(
      `/api/v1/bots/${bot.id}`,
      json("PATCH", { displayName: "Jack's bot" }, bearer(jack.accessToken)),
    );
    expect(await patched.json()).toMatchObject({ displayName: "Jack's bot", bot: true });
    await expectProblem(
      await t.request(`/api/v1/bots/${bot.id}`, json("PATCH", { bio: "mine" }, bearer(other.accessToken))),
      404,
      "bot_not_found",
    );
    await expectProblem(
      await t.request(
        "/api/v1/tokens",
        json("POST", { name: "x", scopes: ["read"], botId: bot.id }, bearer(other.accessToken)),
      ),
      404,
      "bot_not_found",
    );
    await expectProblem(
      await t.request("/api/v1/bots", json("POST", { username: "alice" }, bearer(jack.accessToken))),
      409,
      "username_taken",
    );
    for (let i = 1; i < 10; i++) await makeBot(jack, `jbot_${i}`);
    await expectProblem(
      await t.request("/api/v1/bots", json("POST", { username: "jbot_10" }, bearer(jack.accessToken))),
      409,
      "bot_limit_reached",
    );
    const listed = await t.request("/api/v1/bots", { headers: bearer(jack.accessToken) });
    expect(((await listed.json()) as { bots: ApiBot[] }).bots).toHaveLength(10);
    const { headers } = await makeToken(jack, { botId: bot.id, scopes: ["read"] });
    expect(
      (await t.request(`/api/v1/bots/${bot.id}`, { method: "DELETE", headers: bearer(jack.accessToken) })).status,
    ).toBe(204);
    await expectProblem(await t.request("/api/v1/me", { headers }), 401, "unauthenticated");
  });

  it("stops a bot's tokens while its owner is suspended", async () => {
    const nina = await registerUser(t, "nina");
    const bot = await makeBot(nina, "ninas_bot");
    const { headers } = await makeToken(nina, { botId: bot.id, scopes: ["read"] });
    expect((await t.request("/api/v1/me", { headers })).status).toBe(200);
    await t.database.db.update(users).set({ suspendedAt: sql`now()` }).where(eq(users.id, nina.user.id));
    await expectProblem(await t.request("/api/v1/me", { headers }), 401, "unauthenticated");
    await t.database.db.update(users).set({ suspendedAt: null }).where(eq(users.id, nina.user.id));
    expect((await t.request("/api/v1/me", { headers })).status).toBe(200);
  });

  it("ends a bot's open stream when its owner is suspended", async () => {
    const otto = await registerUser(t, "otto");
    const bot = await makeBot(otto, "ottos_bot");
    const { headers } = await makeToken(otto, { botId: bot.id, scopes: ["read"] });
    const stream = await openStream(t, headers);
    expect((await stream.take(1))[0]?.type).toBe("ready");
    await suspendUser(t.deps, "otto");
    expect(await stream.ended()).toBe(true);
  });

  it("validates scopes and names", async () => {
    const lena = await registerUser(t, "lena");
    for (const scopes of [[], ["admin"], ["rooms:not-a-uuid"], ["rooms:0190a1b2-0000-7000-8000-000000000000"]]) {
      await expectProblem(
        await t.request("/api/v1/tokens", json("POST", { name: "x", scopes }, bearer(lena.accessToken))),
        422,
        "validation_failed",
      );
    }
  });

  it("serves a bot's actor as a Service", async () => {
    const mia = await registerUser(t, "mia");
    await makeBot(mia, "service_bot", { displayName: "Servo" });
    const res = await t.request("/users/service_bot", { headers: { accept: "application/activity+json" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: "Service", preferredUsername: "service_bot", name: "Servo" });
    const person = await t.request("/users/mia", { headers: { accept: "application/activity+json" } });
    expect(await person.json()).toMatchObject({ type: "Person" });
  });
});
