/** Reports (issue 19, item 1): reporting, the moderators' and admins' queue, actions, outcomes. */
import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole } from "../../src/accounts/admin.ts";
import { messages, moderationLog, reports, users } from "../../src/db/schema.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, openStream } from "./support.ts";

let t: TestInstance;
const { signUp, call, ok } = apiClient(() => t);

interface Report {
  id: string;
  kind: string;
  category: string;
  comment: string;
  status: string;
  reporter: { id: string } | null;
  target: { id: string } | null;
  room: { id: string } | null;
  messages: { id: string; content: string }[];
  actions: { action: string; note: string; actor: { id: string } | null }[];
}

let admin: Client;
let owner: Client;
let moderator: Client;
let bob: Client;
let eve: Client;
let outsider: Client;
let roomId: string;

async function post(who: Client, text: string): Promise<string> {
  const txn = `t${Math.random().toString(36).slice(2)}`;
  const res = await call("PUT", `/rooms/${roomId}/messages/${txn}`, who, { content: text });
  return (await ok<{ id: string }>(res, 201)).id;
}
const report = (who: Client, body: Record<string, unknown>) => call("POST", "/reports", who, body);
const queue = async (who: Client, status?: string) =>
  await ok<{ reports: Report[]; moderator: boolean }>(
    await call("GET", `/reports${status ? `?status=${status}` : ""}`, who),
  );
/** The next event of a stream past its `ready` (and presence, which does not concern reports). */
async function next(stream: Awaited<ReturnType<typeof openStream>>) {
  for (;;) {
    const [event] = await stream.take(1);
    if (event && event.type !== "ready" && event.type !== "presence") return event;
  }
}
const reportCount = async () => (await t.testDatabase.db.select({ n: count() }).from(reports))[0]?.n;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  [admin, owner, moderator, bob, eve, outsider] = await Promise.all([
    signUp("warden"),
    signUp("owner"),
    signUp("mod"),
    signUp("bob"),
    signUp("eve"),
    signUp("outsider"),
  ]);
  await setRole(t.deps, admin.username, "admin");
  roomId = (await ok<{ id: string }>(await call("POST", "/rooms", owner, { name: "Lobby", visibility: "public" }), 201))
    .id;
  for (const who of [moderator, bob, eve]) await ok(await call("POST", `/rooms/${roomId}/join`, who));
  await ok(await call("PUT", `/rooms/${roomId}/members/${moderator.id}/role`, owner, { role: "moderator" }), 204);
});
afterAll(async () => {
  await t?.dispose();
});

describe("reporting", () => {
  it("files a message report that the room's moderators and the admins get live, and nobody else", async () => {
    const spam = await post(eve, "buy cheap watches");
    const streams = await Promise.all([moderator, admin, eve, bob].map((who) => openStream(t, who.headers)));
    const filed = await ok<Report>(
      await report(bob, { kind: "message", category: "spam", comment: "again", roomId, messageIds: [spam] }),
      201,
    );
    expect(filed).toMatchObject({
      kind: "message",
      category: "spam",
      comment: "again",
      status: "open",
      reporter: { id: bob.id },
      target: { id: eve.id },
      room: { id: roomId },
      messages: [{ id: spam, content: "buy cheap watches" }],
    });
    for (const stream of streams.slice(0, 2)) {
      const event = await next(stream);
      expect(event).toMatchObject({ type: "report.created", data: { report: { id: filed.id } } });
    }
    // The reported person and the reporter hear nothing: a message to them shows the stream is past it.
    await post(owner, "after the report");
    for (const stream of streams.slice(2)) {
      const event = await next(stream);
      expect(event?.type).toBe("message.created");
    }
    await Promise.all(streams.map((s) => s.close()));
    expect((await queue(moderator)).reports.map((r) => r.id)).toContain(filed.id);
    expect((await queue(admin)).reports.map((r) => r.id)).toContain(filed.id);
    expect(await queue(bob)).toEqual({ reports: [], moderator: false });
    await expectProblem(await call("GET", `/reports/${filed.id}`, eve), 404, "report_not_found");
    await expectProblem(
      await call("PUT", `/reports/${filed.id}/status`, bob, { status: "dismissed" }),
      404,
      "report_not_found",
    );
  });

  it("refuses messages the reporter cannot read, deleted ones, others' rooms, and oneself, storing nothing", async () => {
    const before = await reportCount();
    const mine = await post(bob, "my own words");
    const gone = await post(eve, "soon gone");
    await ok(await call("DELETE", `/rooms/${roomId}/messages/${gone}`, eve), 204);
    const other = (
      await ok<{ id: string }>(
        await call("POST", "/rooms", outsider, { name: "Elsewhere", visibility: "private" }),
        201,
      )
    ).id;
    const hidden = (
      await ok<{ id: string }>(await call("PUT", `/rooms/${other}/messages/x1`, outsider, { content: "private" }), 201)
    ).id;
    const eves = await post(eve, "one");
    const owners = await post(owner, "two");
    const base = { kind: "message", category: "harassment" };
    await expectProblem(await report(bob, { ...base, roomId: other, messageIds: [hidden] }), 404, "room_not_found");
    await expectProblem(await report(bob, { ...base, roomId, messageIds: [hidden] }), 404, "message_not_found");
    await expectProblem(await report(bob, { ...base, roomId, messageIds: [gone] }), 404, "message_not_found");
    await expectProblem(await report(bob, { ...base, roomId, messageIds: [mine] }), 422, "validation_failed");
    await expectProblem(await report(bob, { ...base, roomId, messageIds: [eves, owners] }), 422, "validation_failed");
    await expectProblem(await report(outsider, { ...base, roomId, messageIds: [eves] }), 403, "not_a_member");
    await expectProblem(await report(bob, { ...base, roomId, messageIds: [] }), 422, "validation_failed");
    const many = Array.from({ length: 21 }, () => crypto.randomUUID());
    await expectProblem(await report(bob, { ...base, roomId, messageIds: many }), 422, "validation_failed");
    await expectProblem(
      await report(bob, { ...base, category: "rude", roomId, messageIds: [eves] }),
      422,
      "validation_failed",
    );
    await expectProblem(
      await report(bob, { kind: "user", category: "spam", userId: bob.id }),
      422,
      "validation_failed",
    );
    await expectProblem(
      await report(bob, { kind: "user", category: "spam", userId: crypto.randomUUID() }),
      404,
      "user_not_found",
    );
    expect(await reportCount()).toBe(before);
  });

  it("sends a report about a room to the admins alone, and one about a moderator not to them", async () => {
    const aboutRoom = await ok<Report>(await report(bob, { kind: "room", category: "illegal", roomId }), 201);
    const aboutMod = await ok<Report>(
      await report(bob, { kind: "user", category: "harassment", userId: moderator.id, roomId }),
      201,
    );
    const modSees = (await queue(moderator)).reports.map((r) => r.id);
    expect(modSees).not.toContain(aboutRoom.id);
    expect(modSees).not.toContain(aboutMod.id);
    expect((await queue(owner)).reports.map((r) => r.id)).toContain(aboutMod.id);
    const adminSees = (await queue(admin)).reports.map((r) => r.id);
    expect(adminSees).toEqual(expect.arrayContaining([aboutRoom.id, aboutMod.id]));
  });
});

describe("acting on a report", () => {
  it("lets an admin delete the message and suspend the author; the reporter is told the outcome", async () => {
    const text = "you will regret this";
    const threat = await post(eve, text);
    const filed = await ok<Report>(
      await report(bob, { kind: "message", category: "violence", roomId, messageIds: [threat] }),
      201,
    );
    const act = (who: Client, action: string, note?: string) =>
      call("POST", `/reports/${filed.id}/actions`, who, { action, ...(note ? { note } : {}) });
    // A moderator may not suspend accounts; an admin who is not in the room may delete in it.
    await expectProblem(await act(moderator, "suspend"), 403, "admin_only");
    await expectProblem(await act(admin, "block_server"), 422, "validation_failed");
    await ok(await act(admin, "delete_messages"));
    const [row] = await t.testDatabase.db.select().from(messages).where(eq(messages.id, threat));
    expect(row?.deletedAt).not.toBeNull();
    const [logged] = await t.testDatabase.db
      .select()
      .from(moderationLog)
      .where(eq(moderationLog.targetMessageId, threat));
    expect(logged).toMatchObject({ actorId: admin.id, action: "message.deleted" });
    const suspended = await ok<Report>(await act(admin, "suspend", "threats"));
    const [eveRow] = await t.testDatabase.db.select().from(users).where(eq(users.id, eve.id));
    expect(eveRow?.suspendedAt).not.toBeNull();
    // The evidence stays with the report though the message is gone.
    expect(suspended.messages).toEqual([expect.objectContaining({ id: threat, content: text })]);
    expect(suspended.actions.map((a) => [a.action, a.actor?.id])).toEqual([
      ["delete_messages", admin.id],
      ["suspend", admin.id],
    ]);

    const stream = await openStream(t, bob.headers);
    const resolved = await ok<Report>(await call("PUT", `/reports/${filed.id}/status`, admin, { status: "resolved" }));
    expect(resolved.status).toBe("resolved");
    const event = await next(stream);
    await stream.close();
    expect(event).toMatchObject({
      type: "notification",
      data: {
        notification: {
          type: "report",
          actor: null,
          data: { reportId: filed.id, status: "resolved", actions: ["delete_messages", "suspend"] },
        },
      },
    });
    const { notifications } = await ok<{ notifications: { type: string; data: { status: string } }[] }>(
      await call("GET", "/notifications", bob),
    );
    expect(notifications[0]).toMatchObject({ type: "report", data: { status: "resolved" } });
    expect((await queue(admin, "open")).reports.map((r) => r.id)).not.toContain(filed.id);
    expect((await queue(admin, "resolved")).reports.map((r) => r.id)).toContain(filed.id);
  });

  it("lets a moderator kick and ban from a report by the room's rules, recording each", async () => {
    const mallory = await signUp("mallory");
    await ok(await call("POST", `/rooms/${roomId}/join`, mallory));
    const rude = await post(mallory, "rude words");
    const filed = await ok<Report>(
      await report(bob, { kind: "message", category: "harassment", roomId, messageIds: [rude] }),
      201,
    );
    const act = (who: Client, action: string, note?: string) =>
      call("POST", `/reports/${filed.id}/actions`, who, { action, ...(note ? { note } : {}) });
    await expectProblem(await act(bob, "kick"), 404, "report_not_found");
    await ok(await act(moderator, "kick", "cool off"));
    const { members } = await ok<{ members: { actor: { id: string } }[] }>(
      await call("GET", `/rooms/${roomId}/members`, owner),
    );
    expect(members.map((m) => m.actor.id)).not.toContain(mallory.id);
    const banned = await ok<Report>(await act(moderator, "ban", "repeat"));
    expect(banned.actions.map((a) => [a.action, a.note])).toEqual([
      ["kick", "cool off"],
      ["ban", "repeat"],
    ]);
    await expectProblem(await call("POST", `/rooms/${roomId}/join`, mallory), 403, "banned");
    // A report can be forwarded only to another server.
    await expectProblem(await act(moderator, "forward"), 422, "validation_failed");
    const dismissed = await ok<Report>(
      await call("PUT", `/reports/${filed.id}/status`, moderator, { status: "dismissed", note: "handled" }),
    );
    expect(dismissed.status).toBe("dismissed");
  });
});
