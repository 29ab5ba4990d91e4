/** The composer's state outside the browser: drafts, the outbox's storage and failure kinds, the length limit. */
import { describe, expect, it } from "vitest";
import { maxMessageLength as serverLimit } from "../../src/messages/messages.ts";
import { ApiError } from "../../web/src/api.ts";
import { type DraftStorage, draftStore, maxDraftLength, maxDrafts, threadScope } from "../../web/src/drafts.ts";
import { maxMessageLength, pasteTooLong, tooLong } from "../../web/src/message-length.ts";
import { failureOf, memoryOutbox, type OutboxEntry, retryDelay } from "../../web/src/outbox-store.ts";

/** localStorage's behaviour over a Map, full past `quota` characters. */
function mapStorage(quota = Number.POSITIVE_INFINITY): DraftStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem(k, v) {
      if (v.length > quota) throw new DOMException("full", "QuotaExceededError");
      map.set(k, v);
    },
    removeItem: (k) => void map.delete(k),
  };
}

describe("drafts", () => {
  it("keeps one draft per account and composer, and removes an emptied one", () => {
    const storage = mapStorage();
    const drafts = draftStore(() => storage);
    drafts.set("u1", "room-a", { text: "hello" });
    drafts.set("u1", threadScope("room-a", "root"), { text: "in the thread" });
    drafts.set("u2", "room-a", { text: "someone else's" });
    expect(drafts.get("u1", "room-a")?.text).toBe("hello");
    expect(drafts.get("u1", "room-a/thread/root")?.text).toBe("in the thread");
    expect(drafts.get("u2", "room-a")?.text).toBe("someone else's");
    expect(drafts.get("u1", "room-b")).toBeNull();

    drafts.set("u1", "room-a", { text: "   " });
    expect(drafts.get("u1", "room-a")).toBeNull();
    drafts.clear("u1");
    expect(drafts.get("u1", "room-a/thread/root")).toBeNull();
    expect(drafts.get("u2", "room-a")?.text).toBe("someone else's");
  });

  it("keeps a draft of files only", () => {
    const storage = mapStorage();
    const drafts = draftStore(() => storage);
    const file = { id: "f1", name: "a.txt", mediaType: "text/plain", size: 3, url: "/x" };
    drafts.set("u1", "room-a", { text: "", attachments: [file] });
    expect(drafts.get("u1", "room-a")?.attachments).toEqual([file]);
  });

  it("is bounded: the newest drafts stay, each cut to its maximum length", () => {
    const storage = mapStorage();
    const drafts = draftStore(() => storage);
    for (let i = 0; i < maxDrafts + 10; i++) drafts.set("u1", `room-${i}`, { text: `draft ${i}` }, 1000 + i);
    expect(drafts.get("u1", "room-0")).toBeNull();
    expect(drafts.get("u1", "room-9")).toBeNull();
    expect(drafts.get("u1", "room-10")?.text).toBe("draft 10");
    expect(drafts.get("u1", `room-${maxDrafts + 9}`)?.text).toBe(`draft ${maxDrafts + 9}`);
    drafts.set("u1", "huge", { text: "h".repeat(maxDraftLength * 3) }, 5000);
    expect(drafts.get("u1", "huge")?.text).toHaveLength(maxDraftLength);
  });

  it("drops the oldest when storage is full, and survives a broken record or no storage", () => {
    const storage = mapStorage(2000);
    const drafts = draftStore(() => storage);
    for (let i = 0; i < 20; i++) drafts.set("u1", `room-${i}`, { text: "t".repeat(150) }, i);
    expect(drafts.get("u1", "room-19")?.text).toHaveLength(150);
    expect(drafts.get("u1", "room-0")).toBeNull();

    storage.map.set("fedchat-drafts:u1", "{not json");
    expect(drafts.get("u1", "room-19")).toBeNull();
    drafts.set("u1", "room-a", { text: "again" });
    expect(drafts.get("u1", "room-a")?.text).toBe("again");

    const none = draftStore(() => null);
    none.set("u1", "room-a", { text: "nowhere" });
    expect(none.get("u1", "room-a")).toBeNull();
  });
});

describe("the outbox", () => {
  const entry = (txnId: string, userId: string, createdAt: string): OutboxEntry => ({
    txnId,
    userId,
    roomId: "room-a",
    content: `message ${txnId}`,
    replyTo: null,
    state: "sending",
    createdAt,
  });

  it("keeps entries per account, oldest first, one per txnId", async () => {
    const store = memoryOutbox();
    await store.put(entry("t2", "u1", "2026-01-01T00:00:02Z"));
    await store.put(entry("t1", "u1", "2026-01-01T00:00:01Z"));
    await store.put(entry("t3", "u2", "2026-01-01T00:00:00Z"));
    await store.put({ ...entry("t2", "u1", "2026-01-01T00:00:02Z"), state: "failed", retryable: true });
    const mine = await store.list("u1");
    expect(mine.map((e) => e.txnId)).toEqual(["t1", "t2"]);
    expect(mine[1]).toMatchObject({ state: "failed", retryable: true });
    await store.delete("t1");
    await store.clear("u1");
    expect(await store.list("u1")).toEqual([]);
    expect((await store.list("u2")).map((e) => e.txnId)).toEqual(["t3"]);
  });

  it("sends again what may pass, and keeps the reason of what never will", () => {
    expect(failureOf(new ApiError("network", "offline"))).toMatchObject({ retryable: true });
    expect(failureOf(new ApiError("internal", "boom", 500))).toMatchObject({ retryable: true });
    expect(failureOf(new ApiError("rate_limited", "slow down", 429))).toMatchObject({ retryable: true });
    const refused = failureOf(
      new ApiError("validation_failed", "invalid", 422, [
        { path: "content", message: "expected at most 4000 characters" },
      ]),
    );
    expect(refused.retryable).toBe(false);
    expect(refused.error).toBe(
      "The server refused this message (content: expected at most 4000 characters). It cannot be sent as it is.",
    );
    expect(failureOf(new ApiError("not_a_member", "You left this room.", 403))).toMatchObject({
      retryable: false,
      error: "You left this room. It cannot be sent as it is.",
    });
  });

  it("waits longer after each failed round, up to 30 seconds", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(retryDelay)).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe("the length limit", () => {
  it("is the server's", () => {
    expect(maxMessageLength).toBe(serverLimit);
  });

  it("says by how much a text is over, and whether a paste would make it so", () => {
    expect(tooLong("a".repeat(maxMessageLength))).toBeNull();
    expect(tooLong("a".repeat(maxMessageLength + 1))).toBe(
      "This message is 1 character over the limit of 4,000. Shorten it or send it as a file.",
    );
    const box = { value: "a".repeat(3990), selectionStart: 0, selectionEnd: 20 };
    expect(pasteTooLong(box, "b".repeat(30))).toBe(false);
    expect(pasteTooLong({ ...box, selectionEnd: 0 }, "b".repeat(11))).toBe(true);
  });
});
