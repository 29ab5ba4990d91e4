/** Reports from other servers (`receiveFlag`): what a `Flag` files, and what it may not. */
import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../../../src/accounts/accounts.ts";
import { reportMessages, reports } from "../../../src/db/schema.ts";
import { sendMessage } from "../../../src/messages/send.ts";
import { receiveFlag } from "../../../src/reports/remote.ts";
import { createRoom } from "../../../src/rooms/rooms.ts";
import { createTestInstance, type TestInstance } from "../../helpers/instance.ts";

let t: TestInstance;
let mallory: string;
let roomId: string;
let messageId: string;

beforeAll(async () => {
  // 20 × 0.1: two reports an hour per server.
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "0.1" });
  mallory = (await createAccount(t.deps, { username: "mallory", password: "correct horse battery" })).id;
  roomId = (await createRoom(t.deps, mallory, { name: "Lobby", visibility: "public" })).id;
  messageId = (await sendMessage(t.deps, mallory, roomId, { txnId: "m1", content: "spam spam" })).message.id;
});
afterAll(async () => {
  await t?.dispose();
});

const flag = (n: number, origin = "other.example", extra: Partial<Parameters<typeof receiveFlag>[1]> = {}) =>
  receiveFlag(t.deps, {
    origin,
    iri: `https://${origin}/flags/${n}`,
    comment: "  bad\u202e stuff  ",
    users: [],
    messages: [],
    rooms: [],
    ...extra,
  });
const filedBy = async (origin: string) =>
  (await t.deps.db.select({ n: count() }).from(reports).where(eq(reports.origin, origin)))[0]?.n;

describe("receiveFlag", () => {
  it("files a message report about the author, with the message kept and the comment cleaned", async () => {
    const report = await flag(1, "other.example", { messages: [messageId], users: [mallory] });
    expect(report).toMatchObject({
      kind: "message",
      category: "other",
      comment: "bad stuff",
      reporterId: null,
      origin: "other.example",
      targetActorId: mallory,
      roomId,
    });
    const kept = await t.deps.db
      .select()
      .from(reportMessages)
      .where(eq(reportMessages.reportId, report?.id ?? ""));
    expect(kept.map((m) => m.content)).toEqual(["spam spam"]);
  });

  it("makes one report of a Flag delivered twice, and drops one that names nothing of ours", async () => {
    expect(await flag(1, "other.example", { users: [mallory] })).toBeUndefined();
    expect(await flag(9, "third.example")).toBeUndefined();
    expect(await filedBy("other.example")).toBe(1);
    expect(await filedBy("third.example")).toBe(0);
  });

  it("holds each server to its reports an hour, and no other server to them", async () => {
    expect(await flag(2, "other.example", { rooms: [roomId] })).toMatchObject({ kind: "room", roomId });
    expect(await flag(3, "other.example", { users: [mallory] })).toBeUndefined();
    expect(await filedBy("other.example")).toBe(2);
    expect(await flag(4, "fourth.example", { users: [mallory] })).toMatchObject({ kind: "user" });
  });
});
