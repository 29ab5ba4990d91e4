import { Group } from "@fedify/vocab";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contextLoader } from "../../federation/contexts.ts";
import { RoomGroup, retentionOf } from "../../federation/rooms.ts";
import { enforceRetention, purgeExpiredBatch } from "../../src/messages/retention.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, type LoggedIn, registerUser } from "./support.ts";

// Issue 19, item 5: a room's retention (keep messages N days), set by moderators, enforced by a
// job in bounded batches, and published as a property of the room's `Group`.

let t: TestInstance;
let owner: LoggedIn;
let member: LoggedIn;
let roomId: string;

const auth = (who: LoggedIn) => bearer(who.accessToken);

async function send(txn: string, content: string, daysAgo = 0) {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages/${txn}`, json("PUT", { content }, auth(owner)));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  if (daysAgo > 0) {
    await t.deps.db.execute(
      sql`update messages set created_at = now() - make_interval(days => ${daysAgo}) where id = ${id}`,
    );
  }
  return id;
}

async function history() {
  const res = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: auth(owner) });
  return ((await res.json()) as { messages: { id: string; content: string; deletedAt: string | null }[] }).messages;
}

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  owner = await registerUser(t, "olga");
  member = await registerUser(t, "mona");
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Ephemeral", visibility: "public" }, auth(owner)));
  roomId = ((await res.json()) as { id: string }).id;
  await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: auth(member) });
});
afterAll(async () => {
  await t?.dispose();
});

describe("room retention", () => {
  it("is set by moderators only, within 1 to 3650 days, and null keeps messages", async () => {
    const patch = (who: LoggedIn, body: unknown) =>
      t.request(`/api/v1/rooms/${roomId}`, json("PATCH", body, auth(who)));
    await expectProblem(await patch(member, { retentionDays: 7 }), 403, "forbidden");
    for (const bad of [0, 3651, 1.5, "7"]) {
      await expectProblem(await patch(owner, { retentionDays: bad }), 422, "validation_failed");
    }
    const room = (await (await patch(owner, { retentionDays: 7 })).json()) as { retentionDays: number | null };
    expect(room.retentionDays).toBe(7);
    const cleared = (await (await patch(owner, { retentionDays: null })).json()) as { retentionDays: number | null };
    expect(cleared.retentionDays).toBeNull();
  });

  it("deletes messages older than the room keeps, in bounded batches, and leaves the rest", async () => {
    const old = [await send("o1", "old one", 10), await send("o2", "old two", 9), await send("o3", "old three", 8)];
    const young = await send("y1", "still fresh", 6);
    const now = await send("n1", "just said");
    // Without retention nothing goes, however old.
    expect(await enforceRetention(t.deps)).toBe(0);
    await t.request(`/api/v1/rooms/${roomId}`, json("PATCH", { retentionDays: 7 }, auth(owner)));
    // A batch takes no more than it is allowed, the oldest first.
    expect(await purgeExpiredBatch(t.deps, 2)).toBe(2);
    let list = await history();
    expect(list.filter((m) => m.deletedAt != null).map((m) => m.id)).toEqual(old.slice(0, 2));
    expect(await enforceRetention(t.deps)).toBe(1);
    list = await history();
    const deleted = list.filter((m) => m.deletedAt != null);
    expect(deleted.map((m) => m.id)).toEqual(old);
    expect(deleted.every((m) => m.content === "")).toBe(true);
    expect(list.filter((m) => m.deletedAt == null).map((m) => m.id)).toEqual([young, now]);
    expect(await enforceRetention(t.deps)).toBe(0);
  });

  it("publishes the retention as the Group's fedchat:retentionDays, which a mirror reads back", async () => {
    const res = await t.request(`/rooms/${roomId}`, { headers: { accept: "application/activity+json" } });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.retentionDays).toBe(7);
    expect(JSON.stringify(doc["@context"])).toContain('"retentionDays":"fedchat:retentionDays"');
    const parsed = await Group.fromJsonLd(doc, { contextLoader, documentLoader: contextLoader });
    expect(await retentionOf(parsed)).toBe(7);
    // Embedded in an activity (Update{Group}) it is written under its full IRI.
    const group = new RoomGroup({ id: new URL(`${t.origin}/rooms/${roomId}`) });
    group.retentionDays = 30;
    const expanded = (await group.toJsonLd({ format: "expand", contextLoader })) as Record<string, unknown>[];
    expect(expanded[0]?.["urn:fedchat:retentionDays"]).toEqual([{ "@value": 30 }]);
    // Nonsense counts as not said.
    const bogus = await Group.fromJsonLd(
      { ...doc, retentionDays: -3 },
      { contextLoader, documentLoader: contextLoader },
    );
    expect(await retentionOf(bogus)).toBeNull();
  });
});
