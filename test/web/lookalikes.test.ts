import { describe, expect, it } from "vitest";
import { Lookalikes, skeleton } from "../../web/src/lookalikes.ts";

describe("skeleton", () => {
  it.each([
    ["Аlice", "Alice", "a Cyrillic А"],
    ["paypal", "рауpal", "Cyrillic р, а and у"],
    ["Ilya", "llya", "a capital I and a small l"],
    ["b0b", "bob", "a zero and an o"],
    ["rnary", "mary", "r and n side by side"],
    ["ａｌｉｃｅ", "alice", "fullwidth letters"],
    ["𝐀𝐥𝐢𝐜𝐞", "Alice", "mathematical bold letters"],
    ["Ali\u200Bce", "Alice", "a zero-width space"],
    ["alice", "Alice", "case alone"],
    ["José", "Jose\u0301", "composed and decomposed accents"],
    ["Ada  Lovelace", "Ada Lovelace", "spacing"],
  ])("makes %j and %j alike (%s)", (a, b) => {
    expect(skeleton(a)).toBe(skeleton(b));
  });

  it.each([
    ["Alice", "Alicia"],
    ["Bob", "Rob"],
    ["José", "Jose"],
    ["Анна", "Anna"],
  ])("keeps %j and %j apart", (a, b) => {
    expect(skeleton(a)).not.toBe(skeleton(b));
  });
});

describe("Lookalikes", () => {
  const index = new Lookalikes([
    { id: "alice", name: "Alice" },
    { id: "spoof", name: "Аlice" },
    { id: "bob", name: "Bob" },
  ]);

  it("marks both names of a pair that look alike, and neither of a name that is unlike the rest", () => {
    expect(index.has("alice", "Alice")).toBe(true);
    expect(index.has("spoof", "Аlice")).toBe(true);
    expect(index.has("bob", "Bob")).toBe(false);
  });

  it("compares someone who is not among them (an author who left) with those who are", () => {
    expect(index.has("gone", "Αlice")).toBe(true);
    expect(index.has("gone", "Carol")).toBe(false);
  });

  it("does not mark one person whose nickname and display name are alike", () => {
    const one = new Lookalikes([
      { id: "alice", name: "Alice" },
      { id: "alice", name: "alice" },
    ]);
    expect(one.has("alice", "Alice")).toBe(false);
  });
});
