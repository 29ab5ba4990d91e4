import { sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/db/client.ts";
import { deliveryStreams, federationOutbox } from "../../../src/db/schema.ts";
import {
  claimStreams,
  deliveryStates,
  purgeOutbox,
  queueActivities,
  releaseStream,
  renewLeases,
  streamItems,
} from "../../../src/delivery/streams.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";

let database: TestDatabase;
const room = uuidv7();
const [mastodon, misskey] = ["https://mastodon.example/inbox", "https://misskey.example/inbox"];
const entry = (position: number, inboxes: string[]) => ({
  position,
  roomId: room,
  body: `{"n":${position}}`,
  inboxes,
  reorderable: true,
});

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});
beforeEach(async () => {
  await database.db.delete(federationOutbox);
  await database.db.delete(deliveryStreams);
});

describe("the outbox and its delivery streams", () => {
  it("queues each activity once, and starts each destination's stream just before its first", async () => {
    await queueActivities(database.db, [entry(10, [mastodon]), entry(11, [mastodon, misskey])], 11);
    await queueActivities(database.db, [entry(14, [misskey])], 15);
    const states = await deliveryStates(database.db);
    expect(states.map((s) => [s.inbox, s.position, s.queued])).toEqual([
      [misskey, 10, 14],
      [mastodon, 9, 11],
    ]);
    expect((await streamItems(database.db, misskey, 10, 10)).map((i) => i.position)).toEqual([11, 14]);
    expect((await streamItems(database.db, mastodon, 10, 10)).map((i) => i.position)).toEqual([11]);
    const [cursor] = await queryRows<{ position: number }>(
      database.db,
      sql`select position::int from federation_cursor where id = 1`,
    );
    expect(cursor?.position).toBe(15);
  });

  it("hands a stream to one holder, and to another once the first stops renewing its lease", async () => {
    await queueActivities(database.db, [entry(1, [mastodon])], 1);
    // A long first lease, so that however slow the machine, "b" asks while "a" holds it.
    const first = await claimStreams(database.db, "a", 10, 10_000);
    expect(first.map((s) => s.inbox)).toEqual([mastodon]);
    expect(await claimStreams(database.db, "b", 10, 300)).toEqual([]);
    // "a" renews for a short while and reports progress; then it dies.
    const held = await renewLeases(
      database.db,
      "a",
      [{ inbox: mastodon, position: 1, signatureSpec: "rfc9421", delivered: true }],
      300,
    );
    expect([...held]).toEqual([[mastodon, 1]]);
    await queueActivities(database.db, [entry(2, [mastodon])], 2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const taken = await claimStreams(database.db, "b", 10, 10_000);
    expect(taken.map((s) => [s.inbox, s.position, s.signatureSpec])).toEqual([[mastodon, 1, "rfc9421"]]);
    // "a" comes back: the stream is not its any more.
    expect(
      await renewLeases(
        database.db,
        "a",
        [{ inbox: mastodon, position: 2, signatureSpec: null, delivered: true }],
        300,
      ),
    ).toEqual(new Map());
    expect((await deliveryStates(database.db))[0]?.position).toBe(1);
  });

  it("backs a failing stream off and keeps its position", async () => {
    await queueActivities(database.db, [entry(1, [mastodon]), entry(2, [mastodon])], 2);
    await claimStreams(database.db, "a", 10, 10_000);
    await releaseStream(
      database.db,
      "a",
      { inbox: mastodon, position: 1, signatureSpec: null, delivered: true },
      { failures: 3, delayMs: 60_000, error: "HTTP 503" },
    );
    const [state] = await deliveryStates(database.db);
    expect(state).toMatchObject({ position: 1, failures: 3, lastError: "HTTP 503", leasedBy: null });
    expect(state?.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    // Not due: nobody takes it.
    expect(await claimStreams(database.db, "b", 10, 10_000)).toEqual([]);
  });

  it("purges what every stream has passed", async () => {
    await queueActivities(database.db, [entry(1, [mastodon, misskey]), entry(2, [mastodon]), entry(3, [misskey])], 3);
    await claimStreams(database.db, "a", 10, 10_000);
    await releaseStream(database.db, "a", { inbox: mastodon, position: 2, signatureSpec: null, delivered: true });
    await releaseStream(database.db, "a", { inbox: misskey, position: 1, signatureSpec: null, delivered: true });
    await purgeOutbox(database.db);
    const left = await database.db.select({ position: federationOutbox.position }).from(federationOutbox);
    expect(left.map((r) => r.position).sort()).toEqual([2, 3]);
  });
});
