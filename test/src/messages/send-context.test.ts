import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInstance, type Instance } from "../../../federation/instance.ts";
import { loadConfig } from "../../../src/config.ts";
import { SendContextCache } from "../../../src/messages/send-context.ts";
import { apiClient, type Client, expectProblem, rows } from "../../api/support.ts";
import { createTestInstance, type TestInstance } from "../../helpers/instance.ts";
import { testSecrets } from "../../helpers/secrets.ts";

// The send path's cache of rooms, memberships and senders' profiles (issue 13): a member's
// next plain send needs no statement before its batch, and a change made through another
// process on the same database still counts, at once for membership (the batch checks it)
// and as soon as that process's hub reads the event for the rest.

const secrets = testSecrets();
let a: TestInstance;
/** A second process on the same database (the same signing key, its own caches and hub). */
let b: Instance & { request: TestInstance["request"] };
let dataDir: string;

beforeAll(async () => {
  a = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" }, secrets);
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-send-context-"));
  const config = loadConfig({
    ORIGIN: "https://chat.example",
    QUEUE_WORKERS: "0",
    DATA_DIR: dataDir,
    RATE_LIMIT_FACTOR: "1000",
  });
  const second = await createInstance(config, { database: a.testDatabase, secrets });
  b = Object.assign(second, {
    async request(path: string, init: RequestInit = {}, address = "203.0.113.11") {
      return await second.app.request(new URL(path, config.origin), init, { clientAddress: address });
    },
  });
});
afterAll(async () => {
  await b?.close();
  await a?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const viaA = apiClient(() => a);
const viaB = apiClient(() => b as unknown as TestInstance);

async function room(owner: Client, ...members: Client[]): Promise<string> {
  const { id } = await viaA.ok<{ id: string }>(
    await viaA.call("POST", "/rooms", owner, { name: "Cached", visibility: "public" }),
    201,
  );
  for (const member of members) await viaA.ok(await viaA.call("POST", `/rooms/${id}/join`, member));
  return id;
}

const sendVia = (api: typeof viaA, who: Client, roomId: string, txnId: string, content = txnId) =>
  api.call("PUT", `/rooms/${roomId}/messages/${txnId}`, who, { content });

async function messageCount(roomId: string): Promise<number> {
  const [row] = await rows<{ n: string }>(a, sql`select count(*) as n from messages where room_id = ${roomId}`);
  return Number(row?.n);
}

describe("the send path's cache", () => {
  it("answers a member's second plain send to a room from memory", async () => {
    const [ann, ben] = [await viaA.signUp("ann"), await viaA.signUp("ben")];
    const roomId = await room(ann, ben);
    await viaB.ok(await sendVia(viaB, ben, roomId, "first"), 201);
    // The room's creation and joins empty B's cache when B's hub reads them, which on
    // PostgreSQL may be after the first send: send until one is answered from memory.
    for (let i = 0; ; i++) {
      const misses = b.deps.sendContexts.misses;
      await viaB.ok(await sendVia(viaB, ben, roomId, `warm-${i}`), 201);
      if (b.deps.sendContexts.misses === misses) break;
      if (i === 20) throw new Error("B never answered a send from memory");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = { hits: b.deps.sendContexts.hits, misses: b.deps.sendContexts.misses };
    const second = await viaB.ok<{ seq: number; author: { id: string } }>(
      await sendVia(viaB, ben, roomId, "second"),
      201,
    );
    expect(b.deps.sendContexts.hits - before.hits).toBe(1);
    expect(b.deps.sendContexts.misses - before.misses).toBe(0);
    expect(second.seq).toBeGreaterThan(2);
    expect(second.author.id).toBe(ben.id);
  });

  it("refuses a member kicked through the other process, even while it remembers them", async () => {
    const [cal, dee] = [await viaA.signUp("cal"), await viaA.signUp("dee")];
    const roomId = await room(cal, dee);
    await viaB.ok(await sendVia(viaB, dee, roomId, "before"), 201);
    await viaA.ok(await viaA.call("POST", `/rooms/${roomId}/members/${dee.id}/kick`, cal, { reason: "test" }), 204);
    // Straight after the kick: B may not have read its event yet, and must refuse anyway.
    await expectProblem(await sendVia(viaB, dee, roomId, "right-after"), 403, "not_a_member");
    await expectProblem(await sendVia(viaB, dee, roomId, "later"), 403, "not_a_member");
    expect(await messageCount(roomId)).toBe(1);
    // Joining again through A counts at once in B: a refusal is never remembered.
    await viaA.ok(await viaA.call("POST", `/rooms/${roomId}/join`, dee));
    await viaB.ok(await sendVia(viaB, dee, roomId, "back"), 201);
  });

  it("refuses a ban and a deleted room made through the other process with their own codes", async () => {
    const [eli, fin] = [await viaA.signUp("eli"), await viaA.signUp("fin")];
    const banned = await room(eli, fin);
    await viaB.ok(await sendVia(viaB, fin, banned, "one"), 201);
    await viaB.ok(await sendVia(viaB, fin, banned, "two"), 201);
    await viaA.ok(await viaA.call("PUT", `/rooms/${banned}/bans/${fin.id}`, eli, { reason: "test" }), 204);
    await expectProblem(await sendVia(viaB, fin, banned, "three"), 403, "not_a_member");
    expect(await messageCount(banned)).toBe(2);

    const deleted = await room(eli, fin);
    await viaB.ok(await sendVia(viaB, fin, deleted, "one"), 201);
    await viaA.ok(await viaA.call("DELETE", `/rooms/${deleted}`, eli), 204);
    await expectProblem(await sendVia(viaB, fin, deleted, "two"), 404, "room_not_found");
    expect(await messageCount(deleted)).toBe(1);
  });

  it("refuses a member removed behind its back (no event at all), while it still remembers them", async () => {
    const [jay, kim] = [await viaA.signUp("jay"), await viaA.signUp("kim")];
    const roomId = await room(jay, kim);
    await viaB.ok(await sendVia(viaB, kim, roomId, "one"), 201);
    await rows(a, sql`delete from room_members where room_id = ${roomId} and actor_id = ${kim.id}`);
    const hits = b.deps.sendContexts.hits;
    await expectProblem(await sendVia(viaB, kim, roomId, "two"), 403, "not_a_member");
    // It was answered from memory, and the batch statement refused it under the room's lock.
    expect(b.deps.sendContexts.hits - hits).toBe(1);
    expect(await messageCount(roomId)).toBe(1);
    // The same for a room deleted behind its back: the refusal names the room.
    await viaB.ok(await sendVia(viaB, jay, roomId, "owner"), 201);
    await rows(a, sql`update rooms set deleted_at = now() where id = ${roomId}`);
    await expectProblem(await sendVia(viaB, jay, roomId, "gone"), 404, "room_not_found");
    expect(await messageCount(roomId)).toBe(2);
  });

  it("shows a name changed through the other process once that process has read the change", async () => {
    const [gil, hue] = [await viaA.signUp("gil"), await viaA.signUp("hue")];
    const roomId = await room(gil, hue);
    await viaB.ok(await sendVia(viaB, hue, roomId, "old-name"), 201);
    const generation = b.deps.sendContexts.generation;
    await viaA.ok(await viaA.call("PATCH", "/me", hue, { displayName: "Hue Renamed" }));
    const deadline = Date.now() + 10_000;
    while (b.deps.sendContexts.generation === generation) {
      if (Date.now() > deadline) throw new Error("B's hub never read the profile change");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const sent = await viaB.ok<{ author: { displayName: string } }>(await sendVia(viaB, hue, roomId, "new-name"), 201);
    expect(sent.author.displayName).toBe("Hue Renamed");
  });

  it("keeps nothing while no hub reads the event log", async () => {
    const ivy = await viaA.signUp("ivy");
    const roomId = await room(ivy);
    const unfed = new SendContextCache();
    unfed.keep(roomId, ivy.id, unfed.generation, { room: {} as never, author: undefined });
    expect(unfed.get(roomId, ivy.id)).toBeUndefined();
    const stop = unfed.feed();
    // A read that began before a clearing is not kept either.
    const started = unfed.generation;
    unfed.observe("member.left");
    unfed.keep(roomId, ivy.id, started, { room: {} as never, author: undefined });
    expect(unfed.get(roomId, ivy.id)).toBeUndefined();
    unfed.keep(roomId, ivy.id, unfed.generation, { room: {} as never, author: undefined });
    expect(unfed.get(roomId, ivy.id)).toBeDefined();
    // Sends, reactions and reads leave it; anything else empties it.
    unfed.observe("message.created");
    expect(unfed.get(roomId, ivy.id)).toBeDefined();
    unfed.observe("room.updated");
    expect(unfed.get(roomId, ivy.id)).toBeUndefined();
    stop();
  });
});
