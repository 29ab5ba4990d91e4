import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { events, fedifyKv, messages, rooms, tombstones } from "../../../src/db/schema.ts";
import type { Deps } from "../../../src/deps.ts";
import { type RelayedMessage, storeRelayedMessages } from "../../../src/messages/relayed.ts";
import { deleteMirror, upsertRemoteActor, upsertRemoteRoom } from "../../../src/rooms/remote.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";
import { testDeps } from "../../helpers/secrets.ts";

// Messages relayed into a mirror, stored a batch at a time (issue 14): numbered as the room
// said, each once however often it comes, a replayed activity never applied twice, a note
// deleted before it came kept as a numbered tombstone.

let database: TestDatabase;
let deps: Deps;
let dataDir: string;
let authorId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-relayed-"));
  deps = await testDeps(loadConfig({ ORIGIN: "https://chat.example", DATA_DIR: dataDir }), database.db);
  authorId = await upsertRemoteActor(deps, {
    iri: "https://far.example/users/felix",
    handle: "felix@far.example",
    name: "felix",
    inbox: "https://far.example/users/felix/inbox",
    sharedInbox: null,
    avatarUrl: null,
  });
});
afterAll(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let mirrors = 0;
const mirror = () =>
  upsertRemoteRoom(deps, {
    iri: `https://far.example/rooms/porch${++mirrors}`,
    name: "Porch",
    topic: "",
    visibility: "public",
    inbox: null,
    sharedInbox: null,
    outbox: null,
    featured: null,
  });

const relayed = (n: number, key: string | null = `https://far.example/rooms/porch/history/${n}`): RelayedMessage => ({
  note: {
    iri: `https://far.example/notes/${n}`,
    authorId,
    content: `note ${n}`,
    html: `<p>note ${n}</p>`,
    published: null,
    mentioned: [],
    attachments: [],
  },
  seq: n,
  processedKey: key ? ["_fedify", "activityIdempotence", "https://chat.example", key] : null,
  processedTtlMs: 60_000,
});

const stored = async (roomId: string) =>
  (await deps.db.select().from(messages).where(eq(messages.roomId, roomId))).map((m) => [m.seq, m.content]).sort();

describe("storing relayed messages a batch at a time", () => {
  it("numbers them as the room said, with one live event each, and moves the room's last number", async () => {
    const room = await mirror();
    const batch = await storeRelayedMessages(deps, room.id, [relayed(3), relayed(1), relayed(2)]);
    expect(batch.outcomes).toEqual(["stored", "stored", "stored"]);
    expect(batch.lastSeqBefore).toBe(0);
    expect(await stored(room.id)).toEqual([
      [1, "note 1"],
      [2, "note 2"],
      [3, "note 3"],
    ]);
    const [row] = await deps.db.select({ lastSeq: rooms.lastSeq }).from(rooms).where(eq(rooms.id, room.id));
    expect(row?.lastSeq).toBe(3);
    const created = await deps.db.select().from(events).where(eq(events.roomId, room.id));
    expect(created.map((e) => e.type)).toEqual(["message.created", "message.created", "message.created"]);
  });

  it("applies a replayed activity once, within a batch and across batches, and a known note once", async () => {
    const room = await mirror();
    const first = relayed(10, "a10");
    const batch = await storeRelayedMessages(deps, room.id, [first, first]);
    expect(batch.outcomes).toEqual(["stored", "replayed"]);
    expect((await storeRelayedMessages(deps, room.id, [first])).outcomes).toEqual(["replayed"]);
    // The same note under another activity: known, not stored again.
    expect((await storeRelayedMessages(deps, room.id, [relayed(10, "b10")])).outcomes).toEqual(["known"]);
    expect(await stored(room.id)).toEqual([[10, "note 10"]]);
  });

  it("keeps a note deleted before it came as a numbered tombstone, without its words", async () => {
    const room = await mirror();
    await deps.db.insert(tombstones).values({ iri: "https://far.example/notes/20" });
    const batch = await storeRelayedMessages(deps, room.id, [relayed(20, "a20"), relayed(21, "a21")]);
    expect(batch.outcomes).toEqual(["stored", "stored"]);
    const rows = await deps.db.select().from(messages).where(eq(messages.roomId, room.id));
    const gone = rows.find((m) => m.seq === 20);
    expect(gone?.content).toBe("");
    expect(gone?.deletedAt).not.toBeNull();
    expect(rows.find((m) => m.seq === 21)?.content).toBe("note 21");
  });

  it("stores nothing, and marks nothing processed, in a mirror that is gone", async () => {
    const room = await mirror();
    await deleteMirror(deps, room.id);
    const batch = await storeRelayedMessages(deps, room.id, [relayed(30, "a30")]);
    expect(batch.outcomes).toEqual(["room_gone"]);
    expect(await stored(room.id)).toEqual([]);
    const marks = await deps.db.select().from(fedifyKv).where(sql`${fedifyKv.key}[4] = 'a30'`);
    expect(marks).toEqual([]);
  });
});
