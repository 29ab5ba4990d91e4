import { describe, expect, it } from "vitest";
import { type BatchWriter, RelayBatcher } from "../../federation/relay-batch.ts";
import type { Deps } from "../../src/deps.ts";
import { AppError } from "../../src/errors.ts";
import type { RelayedMessage } from "../../src/messages/relayed.ts";

/** A relayed message whose note IRI names its sender and number. */
function item(sender: string, n: number): RelayedMessage {
  return {
    note: {
      iri: `https://${sender}/notes/${n}`,
      authorId: "a",
      content: "",
      html: "",
      published: null,
      mentioned: [],
      attachments: [],
    },
    seq: n,
    processedKey: null,
    processedTtlMs: 0,
  };
}

/** A writer that records its batches and commits each only when released. */
function recordingWriter() {
  const batches: string[][] = [];
  let release = () => {};
  const writer: BatchWriter = async (_deps, _roomId, items) => {
    batches.push(items.map((i) => i.note.iri));
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    return { outcomes: items.map(() => "stored" as const), lastSeqBefore: 0, stored: [] };
  };
  return { batches, writer, release: () => release() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("group commit of relayed messages", () => {
  it("fills each batch in turn from every sending server, so a noisy one does not hold back a quiet one", async () => {
    const { batches, writer, release } = recordingWriter();
    const batcher = new RelayBatcher({} as Deps, () => {}, { maxBatch: 4, writer });
    const noisy = Array.from({ length: 12 }, (_, n) =>
      batcher.store("noisy.example", "room", item("noisy.example", n)),
    );
    await settle();
    // The first batch took what had arrived; the rest wait while it is written.
    const quiet = batcher.store("quiet.example", "room", item("quiet.example", 1));
    release();
    await settle();
    expect(batches[1]).toContain("https://quiet.example/notes/1");
    expect(
      batches[1]?.[0] === "https://quiet.example/notes/1" || batches[1]?.[1] === "https://quiet.example/notes/1",
    ).toBe(true);
    for (let i = 0; i < 5; i++) {
      release();
      await settle();
    }
    expect(await quiet).toBe("stored");
    expect(await Promise.all(noisy)).toEqual(noisy.map(() => "stored"));
    expect(batches.flat()).toHaveLength(13);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
  });

  it("refuses with busy what a server sends past its waiting limit, and takes others' still", async () => {
    const { writer, release } = recordingWriter();
    const batcher = new RelayBatcher({} as Deps, () => {}, { maxBatch: 2, maxWaitingPerSender: 3, writer });
    const first = batcher.store("noisy.example", "room", item("noisy.example", 0));
    await settle();
    // One is being written; three may wait.
    const waiting = [1, 2, 3].map((n) => batcher.store("noisy.example", "room", item("noisy.example", n)));
    const refused = batcher.store("noisy.example", "room", item("noisy.example", 4));
    await expect(refused).rejects.toSatisfy((e) => e instanceof AppError && e.code === "busy");
    const quiet = batcher.store("quiet.example", "room", item("quiet.example", 1));
    for (let i = 0; i < 4; i++) {
      release();
      await settle();
    }
    expect(await quiet).toBe("stored");
    expect(await Promise.all([first, ...waiting])).toEqual(["stored", "stored", "stored", "stored"]);
  });

  it("writes a failed batch again one message at a time, so one bad message fails alone", async () => {
    const written: string[][] = [];
    const writer: BatchWriter = async (_deps, _roomId, items) => {
      written.push(items.map((i) => i.note.iri));
      if (items.some((i) => i.note.iri.endsWith("/bad"))) throw new Error("a bad row");
      return { outcomes: items.map(() => "stored" as const), lastSeqBefore: 0, stored: [] };
    };
    const batcher = new RelayBatcher({} as Deps, () => {}, { writer });
    const good = batcher.store("a.example", "room", item("a.example", 1));
    const bad = batcher.store("a.example", "room", {
      ...item("a.example", 2),
      note: { ...item("a.example", 2).note, iri: "https://a.example/bad" },
    });
    expect(await good).toBe("stored");
    await expect(bad).rejects.toThrow("a bad row");
    expect(written).toEqual([
      ["https://a.example/notes/1", "https://a.example/bad"],
      ["https://a.example/notes/1"],
      ["https://a.example/bad"],
    ]);
  });
});
