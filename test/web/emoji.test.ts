import { beforeEach, describe, expect, it } from "vitest";
import {
  type ChoiceStorage,
  recentEmoji,
  recentLimit,
  rememberEmoji,
  setSkinTone,
  skinTone,
} from "../../web/src/emoji.ts";
import { qualified, unicodeCategories, unicodeEmoji } from "../../web/src/emoji-data.ts";
import { type EmojiEntry, EmojiIndex, emojiText, type ImageEmoji } from "../../web/src/emoji-index.ts";

const entries = unicodeEmoji();
const index = new EmojiIndex(entries, unicodeCategories);
const rgi = /^\p{RGI_Emoji}$/v;
const unicodeOf = (list: readonly EmojiEntry[]) => list.map((e) => (e.kind === "unicode" ? e.unicode : e.id));

describe("the Unicode set from emojibase-data", () => {
  it("has every category's emoji, and none of the parts (skin tones, hair) on their own", () => {
    expect(entries.length).toBeGreaterThan(1850);
    expect(unicodeCategories.map((c) => c.key)).toEqual([
      "smileys-emotion",
      "people-body",
      "animals-nature",
      "food-drink",
      "travel-places",
      "activities",
      "objects",
      "symbols",
      "flags",
    ]);
    for (const category of unicodeCategories) expect(index.inCategory(category.key).length).toBeGreaterThan(30);
    expect(index.byText("🏽")).toBeUndefined();
    expect(index.byText("🦰")).toBeUndefined();
    expect(index.inCategory("smileys-emotion")[0]).toMatchObject({ unicode: "😀", label: "grinning face" });
  });

  it("writes each emoji in Unicode's fully-qualified form, as the server keys reactions", () => {
    const texts = entries.flatMap((e) => (e.kind === "unicode" ? [e.unicode, ...(e.skins ?? [])] : []));
    expect(texts.filter((text) => !rgi.test(text))).toEqual([]);
    // emojibase writes 👍 with a needless U+FE0F.
    expect(qualified("👍\uFE0F")).toBe("👍");
    expect(qualified("❤️")).toBe("❤️");
    expect(qualified("🏳️‍🌈")).toBe("🏳️‍🌈");
  });

  it("gives the five skin tones, the same for everyone in a group of people", () => {
    expect(index.byText("👍")).toMatchObject({ skins: ["👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"] });
    const holding = entries.find((e) => e.label === "people holding hands");
    expect(holding).toMatchObject({ unicode: "🧑‍🤝‍🧑" });
    expect(holding?.kind === "unicode" && holding.skins?.[0]).toBe("🧑🏻‍🤝‍🧑🏻");
    expect(index.byText("😀")).not.toHaveProperty("skins");
  });

  it("includes Emoji 17.0", () => {
    expect(index.byText("🫪")).toMatchObject({ label: "distorted face", category: "smileys-emotion" });
    expect(unicodeOf(index.search("orca"))[0]).toBe("🫍");
  });
});

describe("emojiText", () => {
  it("writes the chosen skin tone where the emoji has one", () => {
    const thumbs = index.byText("👍") as EmojiEntry;
    expect(emojiText(thumbs)).toBe("👍");
    expect(emojiText(thumbs, 3)).toBe("👍🏽");
    expect(emojiText(thumbs, 5)).toBe("👍🏿");
    expect(emojiText(index.byText("😀") as EmojiEntry, 3)).toBe("😀");
  });
});

describe("search", () => {
  it.each([
    ["fire", "🔥"],
    [":+1:", "👍"],
    ["+1", "👍"],
    ["thumbs", "👍"],
    ["THUMBS UP", "👍"],
    ["tada", "🎉"],
    ["joy", "😂"],
    ["thumb down", "👎"],
    ["red heart", "❤️"],
    ["🔥", "🔥"],
  ])("finds %j first as %s", (query, emoji) => {
    expect(unicodeOf(index.search(query))[0]).toBe(emoji);
  });

  it("ranks the exact shortcode, then shortcodes, then names, then words anywhere", () => {
    const found = unicodeOf(index.search("cat"));
    expect(found[0]).toBe("🐈"); // :cat:
    expect(found.indexOf("🐱")).toBeGreaterThan(0); // :cat_face:
    expect(found).toContain("😺"); // "grinning cat": a word of the name
  });

  it("finds by keyword and by every word typed", () => {
    expect(unicodeOf(index.search("celebration"))).toContain("🎉");
    expect(unicodeOf(index.search("face cat grin"))).toContain("😺");
  });

  it("finds nothing for nothing, or for words no emoji has", () => {
    expect(index.search("")).toEqual([]);
    expect(index.search("   ")).toEqual([]);
    expect(index.search("qzxwv")).toEqual([]);
  });

  it("returns at most the limit", () => {
    expect(index.search("face", 10)).toHaveLength(10);
  });
});

describe("shortcode completion", () => {
  it("offers emoji whose shortcode starts with what was typed, shortest first", () => {
    const matches = index.complete("smi");
    expect(matches.length).toBe(8);
    for (const m of matches) expect(m.shortcode.startsWith("smi")).toBe(true);
    const lengths = matches.map((m) => m.shortcode.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(matches.map((m) => m.shortcode)).toContain("smile");
    expect(new Set(matches.map((m) => m.entry.id)).size).toBe(matches.length);
  });

  it("puts an exact shortcode first, and ignores case", () => {
    expect(index.complete("smile")[0]).toMatchObject({ shortcode: "smile", entry: { unicode: "😄" } });
    expect(index.complete("+1")[0]).toMatchObject({ shortcode: "+1", entry: { unicode: "👍" } });
    expect(index.complete("TADA")[0]).toMatchObject({ shortcode: "tada", entry: { unicode: "🎉" } });
  });

  it("offers nothing for an empty or unknown prefix", () => {
    expect(index.complete("")).toEqual([]);
    expect(index.complete("qzxwv")).toEqual([]);
  });
});

describe("a second source of emoji (pictures, such as a server's custom emoji)", () => {
  const blobcat: ImageEmoji = {
    kind: "image",
    id: "custom:blobcat",
    label: "blobcat",
    shortcodes: ["blobcat"],
    keywords: ["blob", "cat"],
    category: "custom",
    url: "/media/emoji/blobcat.png",
  };
  const mixed = new EmojiIndex([blobcat, ...entries], [{ key: "custom", label: "This server", icon: "⭐" }]);

  it("is searched, completed and written as its :shortcode:", () => {
    expect(mixed.search("blobc")[0]).toBe(blobcat);
    expect(mixed.search("cat")).toContain(blobcat);
    expect(mixed.complete("blob")[0]).toEqual({ entry: blobcat, shortcode: "blobcat" });
    expect(emojiText(blobcat, 4)).toBe(":blobcat:");
    expect(mixed.byText(":blobcat:")).toBe(blobcat);
    expect(mixed.inCategory("custom")).toEqual([blobcat]);
  });
});

/** Storage as the browser's localStorage keeps it: strings by key. */
class MemoryStorage implements ChoiceStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

describe("recent emoji and the skin tone", () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
  });

  it("keeps each account's recent emoji apart, newest first, each once", () => {
    rememberEmoji("alice", "👍", storage);
    rememberEmoji("alice", "🎉", storage);
    rememberEmoji("alice", "👍", storage);
    rememberEmoji("bob", "🔥", storage);
    expect(recentEmoji("alice", storage)).toEqual(["👍", "🎉"]);
    expect(recentEmoji("bob", storage)).toEqual(["🔥"]);
    expect(recentEmoji(undefined, storage)).toEqual([]);
  });

  it("keeps only the latest few", () => {
    for (const e of index.inCategory("food-drink").slice(0, recentLimit + 5)) {
      rememberEmoji("alice", emojiText(e), storage);
    }
    const recent = recentEmoji("alice", storage);
    expect(recent).toHaveLength(recentLimit);
    expect(recent[0]).toBe(emojiText(index.inCategory("food-drink")[recentLimit + 4] as EmojiEntry));
  });

  it("ignores what it did not write", () => {
    storage.setItem("fedchat.recentEmoji.alice", "{not json");
    expect(recentEmoji("alice", storage)).toEqual([]);
    storage.setItem("fedchat.recentEmoji.alice", JSON.stringify({ a: 1 }));
    expect(recentEmoji("alice", storage)).toEqual([]);
    storage.setItem("fedchat.recentEmoji.alice", JSON.stringify(["👍", 3, "", "x".repeat(500), "🎉"]));
    expect(recentEmoji("alice", storage)).toEqual(["👍", "🎉"]);
  });

  it("remembers the skin tone, none at first", () => {
    expect(skinTone(storage)).toBe(0);
    setSkinTone(3, storage);
    expect(skinTone(storage)).toBe(3);
    storage.setItem("fedchat.emojiSkinTone", "9");
    expect(skinTone(storage)).toBe(0);
    storage.setItem("fedchat.emojiSkinTone", "1.5");
    expect(skinTone(storage)).toBe(0);
  });

  it("works without storage (a browser that refuses it)", () => {
    rememberEmoji("alice", "👍", undefined);
    expect(recentEmoji("alice", undefined)).toEqual([]);
    expect(skinTone(undefined)).toBe(0);
  });
});
