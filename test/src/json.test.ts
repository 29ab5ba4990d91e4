import { describe, expect, it } from "vitest";
import { isStorableText, nestedDeeperThan, storableJson } from "../../src/json.ts";
import { truncate } from "../../src/text.ts";

describe("walking untrusted JSON", () => {
  it("measures depth without recursion, however deep", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, 64)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 64)).toBe(false);
  });

  it("makes text PostgreSQL can store, leaving clean JSON as it is", () => {
    const clean = { a: ["b", { c: "d" }] };
    expect(storableJson(clean)).toBe(clean);
    expect(storableJson({ "k\u0000ey": ["a\u0000b", "\ud800x"], n: 1 })).toEqual({ key: ["ab", "\ufffdx"], n: 1 });
    expect(isStorableText("😀")).toBe(true);
    expect(isStorableText("\udc00")).toBe(false);
  });

  it("cuts text by code points, never through a surrogate pair", () => {
    expect(truncate("ab😀cd", 3)).toBe("ab😀");
    expect(truncate("😀😀😀", 2)).toBe("😀😀");
    expect(isStorableText(truncate("😀😀😀", 2))).toBe(true);
    expect(truncate("short", 10)).toBe("short");
  });
});
