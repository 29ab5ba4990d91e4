import { eq, max } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, invitationResponses, invitations } from "../../src/db/schema.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, openStream } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

const { signUp, call, ok } = apiClient(() => t);

interface Invitation {
  kind: string;
  title: string;
  link: string | null;
  startsAt: string | null;
  expiresAt: string;
  expired: boolean;
  everyone: boolean;
  invitees: { id: string }[];
  responses: { actor: { id: string }; answer: string }[];
}
interface Message {
  id: string;
  seq: number;
  content: string;
  html: string;
  invitation?: Invitation;
}

/** A public room with its owner and two members, and someone outside it. */
async function cast() {
  const [alice, bob, carol, outsider] = [
    await signUp("alice"),
    await signUp("bob"),
    await signUp("carol"),
    await signUp("outsider"),
  ];
  const { id: roomId } = await ok<{ id: string }>(
    await call("POST", "/rooms", alice, { name: "Games", visibility: "public" }),
    201,
  );
  for (const who of [bob, carol]) await ok(await call("POST", `/rooms/${roomId}/join`, who));
  return { alice, bob, carol, outsider, roomId };
}

let txn = 0;
async function invite(roomId: string, who: Client, body: Record<string, unknown>, status = 201): Promise<Message> {
  return await ok<Message>(await call("PUT", `/rooms/${roomId}/invitations/i${++txn}`, who, body), status);
}
function answer(roomId: string, messageId: string, who: Client, value: string) {
  return call("PUT", `/rooms/${roomId}/messages/${messageId}/invitation/answer`, who, { answer: value });
}

/** What a refused request must leave unchanged. */
async function state(messageId: string) {
  const db = t.testDatabase.db;
  const [last] = await db.select({ position: max(events.position) }).from(events);
  return {
    responses: await db.select().from(invitationResponses).where(eq(invitationResponses.messageId, messageId)),
    lastEvent: last?.position ?? null,
  };
}

describe("invitations", () => {
  it("sends a card as a message whose text says it in words, and shows it in history", async () => {
    const { alice, bob, roomId } = await cast();
    const sent = await invite(roomId, alice, {
      kind: "game",
      title: "Chess",
      link: "https://lichess.org/abc",
      startsAt: "2026-12-10T18:00:00Z",
      to: [bob.id],
    });
    expect(sent.content).toBe(
      `${alice.username} invites @${bob.username}@chat.example to play **Chess** (2026-12-10 18:00 UTC): https://lichess.org/abc`,
    );
    expect(sent.invitation).toMatchObject({
      kind: "game",
      title: "Chess",
      link: "https://lichess.org/abc",
      startsAt: "2026-12-10T18:00:00.000Z",
      expired: false,
      everyone: false,
      invitees: [{ id: bob.id }],
      responses: [],
    });
    const expires = Date.parse(sent.invitation?.expiresAt ?? "") - Date.now();
    expect(expires).toBeGreaterThan(23 * 3600_000);
    expect(expires).toBeLessThanOrEqual(24 * 3600_000);
    const { messages } = await ok<{ messages: Message[] }>(await call("GET", `/rooms/${roomId}/messages`, bob));
    expect(messages.find((m) => m.id === sent.id)?.invitation?.title).toBe("Chess");
    // A retry with the same transaction id answers the first message and writes no second card.
    const again = await ok<Message>(
      await call("PUT", `/rooms/${roomId}/invitations/i${txn}`, alice, { kind: "game", title: "Chess", to: [bob.id] }),
      200,
    );
    expect(again.id).toBe(sent.id);
    expect(await t.testDatabase.db.select().from(invitations).where(eq(invitations.roomId, roomId))).toHaveLength(1);
  });

  it("lets invitees accept, change their mind, and everyone in the room see it live", async () => {
    const { alice, bob, carol, roomId } = await cast();
    const stream = await openStream(t, carol.headers);
    try {
      await stream.take(1); // ready
      const sent = await invite(roomId, alice, { kind: "call", title: "Stand-up", to: "everyone", expiresIn: 3600 });
      expect((await stream.take(1))[0]).toMatchObject({
        type: "message.created",
        data: { message: { id: sent.id, invitation: { everyone: true, kind: "call" } } },
      });
      const accepted = await ok<{ invitation: Invitation }>(await answer(roomId, sent.id, bob, "accepted"));
      expect(accepted.invitation.responses).toMatchObject([{ actor: { id: bob.id }, answer: "accepted" }]);
      const [live] = await stream.take(1);
      expect(live).toMatchObject({
        type: "invitation.updated",
        roomId,
        data: {
          messageId: sent.id,
          answer: "accepted",
          actor: { id: bob.id },
          invitation: { responses: [{ actor: { id: bob.id }, answer: "accepted" }] },
        },
      });
      // The same answer again changes nothing and tells nobody.
      const before = await state(sent.id);
      await ok(await answer(roomId, sent.id, bob, "accepted"));
      expect(await state(sent.id)).toEqual(before);
      // A second, different answer replaces the first.
      await ok(await answer(roomId, sent.id, bob, "declined"));
      expect((await stream.take(1))[0]).toMatchObject({
        type: "invitation.updated",
        data: { answer: "declined", invitation: { responses: [{ actor: { id: bob.id }, answer: "declined" }] } },
      });
      await ok(await answer(roomId, sent.id, carol, "accepted"));
      const { invitation } = await ok<Message>(await call("GET", `/rooms/${roomId}/messages/${sent.id}`, alice));
      expect(invitation?.responses.map((r) => [r.actor.id, r.answer])).toEqual([
        [bob.id, "declined"],
        [carol.id, "accepted"],
      ]);
    } finally {
      await stream.close();
    }
  });

  it("refuses answers from those not invited, after expiry, and to deleted or plain messages", async () => {
    const { alice, bob, carol, outsider, roomId } = await cast();
    const sent = await invite(roomId, alice, { kind: "event", title: "Picnic", to: [bob.id] });
    const plain = await ok<Message>(
      await call("PUT", `/rooms/${roomId}/messages/p${++txn}`, alice, { content: "hi" }),
      201,
    );
    const before = await state(sent.id);
    await expectProblem(await answer(roomId, sent.id, carol, "accepted"), 403, "not_invited");
    await expectProblem(await answer(roomId, sent.id, alice, "accepted"), 403, "not_invited");
    await expectProblem(await answer(roomId, sent.id, outsider, "accepted"), 403, "not_a_member");
    await expectProblem(await answer(roomId, sent.id, bob, "maybe"), 422, "validation_failed");
    await expectProblem(await answer(roomId, plain.id, bob, "accepted"), 404, "message_not_found");
    expect(await state(sent.id)).toEqual(before);

    // Expiry is computed on read: no timer is involved.
    await t.testDatabase.db
      .update(invitations)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(invitations.messageId, sent.id));
    await expectProblem(await answer(roomId, sent.id, bob, "accepted"), 410, "invitation_expired");
    const { invitation } = await ok<Message>(await call("GET", `/rooms/${roomId}/messages/${sent.id}`, bob));
    expect(invitation?.expired).toBe(true);
    expect(await state(sent.id)).toEqual(before);

    const other = await invite(roomId, alice, { kind: "game", title: "Go", to: [bob.id] });
    await ok(await call("DELETE", `/rooms/${roomId}/messages/${other.id}`, alice), 204);
    await expectProblem(await answer(roomId, other.id, bob, "accepted"), 404, "message_not_found");
    const { invitation: gone } = await ok<Message>(await call("GET", `/rooms/${roomId}/messages/${other.id}`, bob));
    expect(gone).toBeUndefined();
  });

  it("refuses bad invitations and sends nothing", async () => {
    const { alice, bob, outsider, roomId } = await cast();
    const count = async () =>
      (await t.testDatabase.db.select().from(invitations).where(eq(invitations.roomId, roomId))).length;
    const bad: [Record<string, unknown>, number, string][] = [
      [{ kind: "party", title: "x", to: "everyone" }, 422, "validation_failed"],
      [{ kind: "game", title: "  ", to: "everyone" }, 422, "validation_failed"],
      [{ kind: "game", title: "x".repeat(201), to: "everyone" }, 422, "validation_failed"],
      [{ kind: "game", title: "x", link: "javascript:alert(1)", to: "everyone" }, 422, "validation_failed"],
      [{ kind: "game", title: "x", link: "https://u:p@example.com/", to: "everyone" }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: [] }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: [outsider.id] }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: [alice.id] }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: "everyone", expiresIn: 8 * 24 * 3600 }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: "everyone", expiresIn: 10 }, 422, "validation_failed"],
      [{ kind: "game", title: "x", to: "everyone", startsAt: "tomorrow" }, 422, "validation_failed"],
    ];
    for (const [body, status, code] of bad) {
      await expectProblem(await call("PUT", `/rooms/${roomId}/invitations/b${++txn}`, alice, body), status, code);
    }
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/invitations/b${++txn}`, outsider, { kind: "game", title: "x", to: [bob.id] }),
      403,
      "not_a_member",
    );
    expect(await count()).toBe(0);
  });

  it("works in a direct conversation and escapes the title's Markdown", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const dm = await ok<{ id: string }>(await call("POST", "/dms", alice, { users: [bob.username] }));
    const sent = await invite(dm.id, alice, { kind: "game", title: "*Tic* [tac] <toe>", to: [bob.id] });
    expect(sent.html).not.toContain("<em>");
    expect(sent.html).toContain("*Tic* [tac] &lt;toe&gt;");
    await ok(await answer(dm.id, sent.id, bob, "accepted"));
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await (await t.request("/api/v1/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/rooms/{roomId}/invitations/{txnId}",
        "/api/v1/rooms/{roomId}/messages/{messageId}/invitation/answer",
      ]),
    );
  });
});
