import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { incomingWebhooks, messages } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { avatarForm, expectProblem, type LoggedIn, openStream, peek, png, registerUser } from "./support.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => t?.dispose());

interface ApiWebhook {
  id: string;
  roomId: string;
  name: string;
  userId: string;
  handle: string;
  avatarUrl: string | null;
}
interface ApiMessage {
  id: string;
  seq: number;
  content: string;
  html: string;
  author: { id: string; displayName: string; bot?: boolean; webhook?: boolean };
}

async function makeRoom(owner: LoggedIn, name: string): Promise<string> {
  const res = await t.request("/api/v1/rooms", json("POST", { name, visibility: "public" }, bearer(owner.accessToken)));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function makeWebhook(
  owner: LoggedIn,
  roomId: string,
  name: string,
): Promise<{ webhook: ApiWebhook; url: string }> {
  const res = await t.request(`/api/v1/rooms/${roomId}/webhooks`, json("POST", { name }, bearer(owner.accessToken)));
  expect(res.status, await peek(res)).toBe(201);
  return (await res.json()) as { webhook: ApiWebhook; url: string };
}

/** POSTs to a webhook URL of the test instance (made with its origin). */
function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return t.request(new URL(url).pathname, json("POST", body, headers));
}

async function history(who: LoggedIn, roomId: string): Promise<ApiMessage[]> {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: bearer(who.accessToken) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: ApiMessage[] }).messages;
}

describe("incoming webhooks", () => {
  it("posts plain, Slack- and Discord-shaped bodies as the webhook, live and marked", async () => {
    const alice = await registerUser(t, "alice");
    const roomId = await makeRoom(alice, "Deploys");
    const { webhook, url } = await makeWebhook(alice, roomId, "CI");
    expect(url).toMatch(new RegExp(`^${t.config.origin}/api/v1/webhooks/${webhook.id}/[A-Za-z0-9_-]{43}$`));
    expect(webhook).toMatchObject({ roomId, name: "CI", avatarUrl: null });
    // Only the hash is kept.
    const [row] = await t.deps.db.select().from(incomingWebhooks).where(eq(incomingWebhooks.id, webhook.id));
    expect(row?.secretHash).not.toContain(url.split("/").at(-1));

    const stream = await openStream(t, bearer(alice.accessToken));
    expect((await stream.take(1))[0]?.type).toBe("ready");

    const plain = await post(url, { content: "Build **42** passed" });
    expect(plain.status, await peek(plain)).toBe(200);
    expect(await plain.json()).toMatchObject({
      content: "Build **42** passed",
      author: { id: webhook.userId, displayName: "CI", bot: true, webhook: true },
    });
    const live = await stream.take(1);
    expect(live[0]).toMatchObject({
      type: "message.created",
      roomId,
      data: { message: { author: { id: webhook.userId, webhook: true } } },
    });

    const slack = await post(url, {
      text: "Deployed <https://example.com/r/1|release 1> &amp; done &lt;3",
      blocks: [],
    });
    expect(slack.status, await peek(slack)).toBe(200);
    const slackMessage = (await slack.json()) as ApiMessage;
    expect(slackMessage.content).toBe("Deployed [release 1](https://example.com/r/1) & done <3");
    expect(slackMessage.html).toContain('href="https://example.com/r/1"');

    const discord = await post(url, {
      content: "From Discord <script>alert(1)</script>",
      username: "Someone else",
      avatar_url: "http://127.0.0.1:1/never-fetched.png",
      embeds: [{ title: "dropped" }],
      tts: false,
    });
    expect(discord.status, await peek(discord)).toBe(200);
    const discordMessage = (await discord.json()) as ApiMessage;
    // The webhook's own name, never the per-message one; the Markdown sanitised as any message's.
    expect(discordMessage.author.displayName).toBe("CI");
    expect(discordMessage.html).not.toContain("<script");

    // A retry with the same Idempotency-Key is the same message.
    const first = await post(url, { content: "once" }, { "idempotency-key": "deploy-7" });
    const retry = await post(url, { content: "once" }, { "idempotency-key": "deploy-7" });
    expect(((await retry.json()) as ApiMessage).id).toBe(((await first.json()) as ApiMessage).id);
    await expectProblem(
      await post(url, { content: "x" }, { "idempotency-key": "no spaces" }),
      422,
      "validation_failed",
    );

    const seen = await history(alice, roomId);
    expect(seen.filter((m) => m.author?.id === webhook.userId).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    await stream.close();

    // Search finds it, and a mention notifies, as for anyone's message.
    const found = await t.request(`/api/v1/search?q=${encodeURIComponent("passed")}`, {
      headers: bearer(alice.accessToken),
    });
    const results = ((await found.json()) as { results: { message: ApiMessage }[] }).results;
    expect(results.map((r) => r.message.author.id)).toContain(webhook.userId);
    expect((await post(url, { content: "@alice the build is yours" })).status).toBe(200);
    const notes = await t.request("/api/v1/notifications", { headers: bearer(alice.accessToken) });
    const { notifications } = (await notes.json()) as { notifications: { type: string; from?: { id: string } }[] };
    expect(notifications.some((n) => n.type === "mention")).toBe(true);

    // Its avatar is set as a user's is.
    const form = avatarForm(png(8, 8), "hook.png", "image/png");
    const avatar = await t.request(`/api/v1/rooms/${roomId}/webhooks/${webhook.id}/avatar`, {
      method: "PUT",
      headers: bearer(alice.accessToken),
      body: form,
    });
    expect(avatar.status, await peek(avatar)).toBe(200);
    expect(((await avatar.json()) as ApiWebhook).avatarUrl).toMatch(/^https:\/\/chat\.example\//);
  });

  it("answers a wrong secret, an unknown id and a revoked webhook with 404, and posts nothing", async () => {
    const bob = await registerUser(t, "bob");
    const roomId = await makeRoom(bob, "Quiet");
    const { webhook, url } = await makeWebhook(bob, roomId, "Alerts");
    const wrong = url.replace(/[^/]{43}$/, "A".repeat(43));
    await expectProblem(await post(wrong, { content: "nope" }), 404, "webhook_not_found");
    const unknown = url.replace(webhook.id, "01900000-0000-7000-8000-000000000000");
    await expectProblem(await post(unknown, { content: "nope" }), 404, "webhook_not_found");
    // A secret of the wrong shape does not reach the database.
    await expectProblem(await post(`${url}x`, { content: "nope" }), 422, "validation_failed");

    expect((await post(url, { content: "one" })).status).toBe(200);
    const revoked = await t.request(`/api/v1/rooms/${roomId}/webhooks/${webhook.id}`, {
      method: "DELETE",
      headers: bearer(bob.accessToken),
    });
    expect(revoked.status).toBe(204);
    await expectProblem(await post(url, { content: "after" }), 404, "webhook_not_found");
    const list = await t.request(`/api/v1/rooms/${roomId}/webhooks`, { headers: bearer(bob.accessToken) });
    expect(((await list.json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
    // Its message stays, with its author; nothing else was written.
    const rows = await t.deps.db.select().from(messages).where(eq(messages.roomId, roomId));
    expect(rows.map((m) => m.content)).toEqual(["one"]);
    // Nor is it a member any more.
    const members = await t.request(`/api/v1/rooms/${roomId}/members`, { headers: bearer(bob.accessToken) });
    const ids = ((await members.json()) as { members: { actor: { id: string } }[] }).members.map((m) => m.actor.id);
    expect(ids).not.toContain(webhook.userId);
  });

  it("refuses bad bodies: empty, too long, not JSON, too large", async () => {
    const cat = await registerUser(t, "cat");
    const roomId = await makeRoom(cat, "Limits");
    const { url } = await makeWebhook(cat, roomId, "Hook");
    await expectProblem(await post(url, {}), 422, "validation_failed");
    await expectProblem(await post(url, { content: "   " }), 422, "validation_failed");
    await expectProblem(await post(url, { content: 42 }), 422, "validation_failed");
    await expectProblem(await post(url, { content: "x".repeat(4001) }), 422, "validation_failed");
    await expectProblem(
      await t.request(new URL(url).pathname, { method: "POST", body: "content=hi" }),
      415,
      "unsupported_media_type",
    );
    await expectProblem(
      await t.request(new URL(url).pathname, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content: "hi", padding: "x".repeat(70_000) }),
      }),
      413,
      "payload_too_large",
    );
    expect(await history(cat, roomId)).toEqual([]);
  });

  it("limits each webhook to 30 posts a minute", async () => {
    // The real limits, on an instance of its own (the others run a hundred times looser).
    const strict = await createTestInstance({ RATE_LIMIT_FACTOR: "1" });
    const main = t;
    t = strict;
    try {
      await limitsEachWebhook();
    } finally {
      t = main;
      await strict.dispose();
    }
  });

  async function limitsEachWebhook() {
    const dan = await registerUser(t, "dan");
    const roomId = await makeRoom(dan, "Busy");
    const { url } = await makeWebhook(dan, roomId, "Firehose");
    const { url: other } = await makeWebhook(dan, roomId, "Other");
    for (let i = 0; i < 30; i++) expect((await post(url, { content: `m${i}` })).status).toBe(200);
    const refused = await expectProblem(await post(url, { content: "one too many" }), 429, "rate_limited");
    expect(refused.details).toBeDefined();
    // Another webhook of the room is counted apart.
    expect((await post(other, { content: "still fine" })).status).toBe(200);
    expect((await history(dan, roomId)).some((m) => m.content === "one too many")).toBe(false);
  }

  it("is for moderators only, and not for personal access tokens", async () => {
    const eve = await registerUser(t, "eve");
    const fay = await registerUser(t, "fay");
    const roomId = await makeRoom(eve, "Mods");
    expect(
      (await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: bearer(fay.accessToken) })).status,
    ).toBe(200);
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/webhooks`, json("POST", { name: "x" }, bearer(fay.accessToken))),
      403,
      "forbidden",
    );
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/webhooks`, { headers: bearer(fay.accessToken) }),
      403,
      "forbidden",
    );
    const { webhook } = await makeWebhook(eve, roomId, "Eve's");
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/webhooks/${webhook.id}`, {
        method: "DELETE",
        headers: bearer(fay.accessToken),
      }),
      403,
      "forbidden",
    );
    const renamed = await t.request(
      `/api/v1/rooms/${roomId}/webhooks/${webhook.id}`,
      json("PATCH", { name: "Renamed" }, bearer(eve.accessToken)),
    );
    expect(await renamed.json()).toMatchObject({ id: webhook.id, name: "Renamed" });
    // Another room's id does not reach it.
    const elsewhere = await makeRoom(eve, "Elsewhere");
    await expectProblem(
      await t.request(`/api/v1/rooms/${elsewhere}/webhooks/${webhook.id}`, {
        method: "DELETE",
        headers: bearer(eve.accessToken),
      }),
      404,
      "webhook_not_found",
    );
    const tokenRes = await t.request(
      "/api/v1/tokens",
      json("POST", { name: "script", scopes: ["write"] }, bearer(eve.accessToken)),
    );
    const { secret } = (await tokenRes.json()) as { secret: string };
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/webhooks`, json("POST", { name: "x" }, bearer(secret))),
      403,
      "token_scope",
    );
    // The webhook's account cannot log in.
    await expectProblem(
      await t.request(
        "/api/v1/auth/login",
        json("POST", { username: webhook.handle.split("@")[0], password: "anything at all" }),
      ),
      401,
      "invalid_credentials",
    );
  });

  it("is refused by a room that forbids bots, at creation and when posting", async () => {
    const gus = await registerUser(t, "gus");
    const roomId = await makeRoom(gus, "Humans");
    const { url } = await makeWebhook(gus, roomId, "Was welcome");
    await t.request(`/api/v1/rooms/${roomId}`, json("PATCH", { allowBots: false }, bearer(gus.accessToken)));
    await expectProblem(await post(url, { content: "hello" }), 403, "bots_forbidden");
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/webhooks`, json("POST", { name: "New" }, bearer(gus.accessToken))),
      403,
      "bots_forbidden",
    );
    expect(await history(gus, roomId)).toEqual([]);
  });
});
