import { describe, expect, it } from "vitest";
import { continuesGroup, groupWindowMs } from "../../web/src/grouping.ts";

const noon = new Date(2026, 2, 18, 12, 0, 0).getTime();
function msg(author: string | null, at: number, extra: Partial<Parameters<typeof continuesGroup>[1]> = {}) {
  return {
    author: author ? { id: author } : null,
    createdAt: new Date(at).toISOString(),
    replyTo: null,
    threadRootId: null,
    deletedAt: null,
    thread: null,
    ...extra,
  };
}

describe("compact grouping of the timeline", () => {
  it("puts a message by the same author within minutes under the one before", () => {
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + 60_000))).toBe(true);
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + groupWindowMs - 1000))).toBe(true);
  });

  it("starts a group at another author, a long pause, a new day, or the first message", () => {
    expect(continuesGroup(null, msg("alice", noon))).toBe(false);
    expect(continuesGroup(msg("bob", noon), msg("alice", noon + 1000))).toBe(false);
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + groupWindowMs))).toBe(false);
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + 60 * 60_000))).toBe(false);
    const late = new Date(2026, 2, 18, 23, 59, 0).getTime();
    expect(continuesGroup(msg("alice", late), msg("alice", late + 120_000))).toBe(false);
    // A deleted account's messages are not one person's.
    expect(continuesGroup(msg(null, noon), msg(null, noon + 1000))).toBe(false);
  });

  it("starts a group at a reply, a thread reply, after a thread root or a deleted message", () => {
    const replyTo = { id: "m1", seq: 1, snippet: "hi", deleted: false };
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + 1000, { replyTo }))).toBe(false);
    expect(continuesGroup(msg("alice", noon), msg("alice", noon + 1000, { threadRootId: "m1" }))).toBe(false);
    const thread = { count: 2, lastReplyAt: new Date(noon).toISOString(), participants: [], unread: 0 };
    expect(continuesGroup(msg("alice", noon, { thread }), msg("alice", noon + 1000))).toBe(false);
    const deletedAt = new Date(noon).toISOString();
    expect(continuesGroup(msg("alice", noon, { deletedAt }), msg("alice", noon + 1000))).toBe(false);
  });
});
