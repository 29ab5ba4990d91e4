import { eq, max } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, moderationLog, roomPins } from "../../src/db/schema.ts";
import { maxPinsPerRoom } from "../../src/messages/pins.ts";
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

interface Pin {
  message: { id: string; seq: number; content: string };
  pinnedAt: string;
  pinnedBy: { id: string } | null;
}

/** A public room owned by a fresh user, with a moderator and a member in it. */
async function cast() {
  const [owner, moderator, member, outsider] = [
    await signUp("owner"),
    await signUp("mod"),
    await signUp("member"),
    await signUp("outsider"),
  ];
  const { id: roomId } = await ok<{ id: string }>(
    await call("POST", "/rooms", owner, { name: "Pinboard", visibility: "public" }),
    201,
  );
  for (const who of [moderator, member]) await ok(await call("POST", `/rooms/${roomId}/join`, who));
  await ok(await call("PUT", `/rooms/${roomId}/members/${moderator.id}/role`, owner, { role: "moderator" }), 204);
  return { owner, moderator, member, outsider, roomId };
}

let txn = 0;
async function send(roomId: string, who: Client, content: string): Promise<string> {
  const res = await call("PUT", `/rooms/${roomId}/messages/t${++txn}`, who, { content });
  return (await ok<{ id: string }>(res, 201)).id;
}

async function pins(roomId: string, who: Client): Promise<Pin[]> {
  return (await ok<{ pins: Pin[] }>(await call("GET", `/rooms/${roomId}/pins`, who))).pins;
}

/** What a refused request must leave unchanged. */
async function state(roomId: string) {
  const db = t.testDatabase.db;
  const [last] = await db.select({ position: max(events.position) }).from(events);
  return {
    pins: await db.select().from(roomPins).where(eq(roomPins.roomId, roomId)).orderBy(roomPins.messageId),
    lastEvent: last?.position ?? null,
  };
}

describe("pinned messages", () => {
  it("lets moderators pin and unpin, newest pin first, and every member read the list", async () => {
    const { owner, moderator, member, roomId } = await cast();
    const first = await send(roomId, member, "first");
    const second = await send(roomId, owner, "second");
    const pinned = await ok<Pin>(await call("PUT", `/rooms/${roomId}/pins/${first}`, moderator), 201);
    expect(pinned).toMatchObject({ message: { id: first, content: "first" }, pinnedBy: { id: moderator.id } });
    await ok(await call("PUT", `/rooms/${roomId}/pins/${second}`, owner), 201);
    expect((await pins(roomId, member)).map((p) => p.message.id)).toEqual([second, first]);

    await ok(await call("DELETE", `/rooms/${roomId}/pins/${first}`, moderator), 204);
    expect((await pins(roomId, member)).map((p) => p.message.id)).toEqual([second]);
    const log = await t.testDatabase.db.select().from(moderationLog).where(eq(moderationLog.roomId, roomId));
    expect(log.map((e) => e.action).filter((a) => a.startsWith("message.p") || a.startsWith("message.u"))).toEqual(
      expect.arrayContaining(["message.pinned", "message.unpinned"]),
    );
  });

  it("is idempotent: a second pin answers 200 and a second unpin 204, each changing nothing", async () => {
    const { moderator, roomId } = await cast();
    const id = await send(roomId, moderator, "once");
    await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
    const before = await state(roomId);
    expect(await ok<Pin>(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 200)).toMatchObject({
      message: { id },
    });
    expect(await state(roomId)).toEqual(before);
    await ok(await call("DELETE", `/rooms/${roomId}/pins/${id}`, moderator), 204);
    const after = await state(roomId);
    await ok(await call("DELETE", `/rooms/${roomId}/pins/${id}`, moderator), 204);
    expect(await state(roomId)).toEqual(after);
  });

  it("refuses members, outsiders and bad input with a code, changing nothing", async () => {
    const { member, outsider, moderator, roomId } = await cast();
    const id = await send(roomId, member, "mine");
    await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
    const elsewhere = await cast();
    const foreign = await send(elsewhere.roomId, elsewhere.member, "elsewhere");
    const before = await state(roomId);
    await expectProblem(await call("PUT", `/rooms/${roomId}/pins/${id}`, member), 403, "forbidden");
    await expectProblem(await call("DELETE", `/rooms/${roomId}/pins/${id}`, member), 403, "forbidden");
    await expectProblem(await call("PUT", `/rooms/${roomId}/pins/${id}`, outsider), 403, "not_a_member");
    await expectProblem(await call("GET", `/rooms/${roomId}/pins`, outsider), 403, "not_a_member");
    await expectProblem(await call("PUT", `/rooms/${roomId}/pins/not-an-id`, moderator), 422, "validation_failed");
    await expectProblem(await call("PUT", `/rooms/${roomId}/pins/${foreign}`, moderator), 404, "message_not_found");
    expect(await state(roomId)).toEqual(before);
  });

  it(`stops at ${maxPinsPerRoom} pins with pin_limit_reached, even for two moderators at once`, async () => {
    const { owner, moderator, roomId } = await cast();
    const ids: string[] = [];
    for (let i = 0; i <= maxPinsPerRoom; i++) ids.push(await send(roomId, moderator, `m${i}`));
    for (const id of ids.slice(0, maxPinsPerRoom - 1)) {
      await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
    }
    // The last place, asked for twice at once: one gets it.
    const [last, extra] = ids.slice(maxPinsPerRoom - 1) as [string, string];
    const race = await Promise.all([
      call("PUT", `/rooms/${roomId}/pins/${last}`, moderator),
      call("PUT", `/rooms/${roomId}/pins/${extra}`, owner),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = race[0]?.status === 409 ? last : extra;
    expect((await pins(roomId, moderator)).length).toBe(maxPinsPerRoom);

    const before = await state(roomId);
    const problem = await expectProblem(
      await call("PUT", `/rooms/${roomId}/pins/${loser}`, moderator),
      409,
      "pin_limit_reached",
    );
    expect(problem.details).toEqual({ limit: maxPinsPerRoom });
    expect(await state(roomId)).toEqual(before);
    // Re-pinning one already pinned is still fine at the limit; unpinning one makes room.
    await ok(await call("PUT", `/rooms/${roomId}/pins/${ids[0]}`, moderator), 200);
    await ok(await call("DELETE", `/rooms/${roomId}/pins/${ids[0]}`, moderator), 204);
    await ok(await call("PUT", `/rooms/${roomId}/pins/${loser}`, moderator), 201);
  });

  it("drops a deleted message from the list and refuses to pin a deleted one", async () => {
    const { member, moderator, roomId } = await cast();
    const [kept, gone] = [await send(roomId, member, "kept"), await send(roomId, member, "gone")];
    for (const id of [kept, gone]) await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
    await ok(await call("DELETE", `/rooms/${roomId}/messages/${gone}`, member), 204);
    expect((await pins(roomId, member)).map((p) => p.message.id)).toEqual([kept]);
    await expectProblem(await call("PUT", `/rooms/${roomId}/pins/${gone}`, moderator), 409, "conflict");
  });

  it("tells open streams of each pin, unpin and pinned message deleted", async () => {
    const { member, moderator, roomId } = await cast();
    const id = await send(roomId, member, "watch this");
    const stream = await openStream(t, member.headers);
    try {
      await stream.take(1); // ready
      await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
      const [pinned] = await stream.take(1);
      expect(pinned).toMatchObject({
        type: "pins",
        roomId,
        data: { roomId, messageId: id, pinned: true, pin: { message: { id, content: "watch this" } } },
      });
      await ok(await call("DELETE", `/rooms/${roomId}/pins/${id}`, moderator), 204);
      expect((await stream.take(1))[0]).toMatchObject({ type: "pins", data: { messageId: id, pinned: false } });
      await ok(await call("PUT", `/rooms/${roomId}/pins/${id}`, moderator), 201);
      await stream.take(1);
      await ok(await call("DELETE", `/rooms/${roomId}/messages/${id}`, member), 204);
      const [deleted, unpinned] = await stream.take(2);
      expect(deleted?.type).toBe("message.deleted");
      expect(unpinned).toMatchObject({ type: "pins", data: { messageId: id, pinned: false } });
    } finally {
      await stream.close();
    }
  });

  it("shows moderators the pin permission and members not", async () => {
    const { member, moderator, roomId } = await cast();
    const of = async (who: Client) =>
      (await ok<{ permissions: string[] }>(await call("GET", `/rooms/${roomId}`, who))).permissions;
    expect(await of(moderator)).toContain("pin");
    expect(await of(member)).not.toContain("pin");
  });
});
