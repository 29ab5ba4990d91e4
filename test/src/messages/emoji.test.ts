import emojibase from "emojibase-data/en/compact.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import { isEmoji, parseReactionKey } from "../../../src/messages/emoji.ts";

describe("isEmoji", () => {
  it.each([
    ["a single emoji", "😀"],
    ["a thumbs up", "👍"],
    ["a skin tone", "👍🏽"],
    ["a keycap", "1️⃣"],
    ["the # keycap", "#️⃣"],
    ["a flag", "🇫🇷"],
    ["a subdivision flag", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"],
    ["a family (ZWJ sequence)", "👨‍👩‍👧"],
    ["the rainbow flag", "🏳️‍🌈"],
    ["a kiss with two skin tones", "🧑🏻‍❤️‍💋‍🧑🏼"],
    ["a text-default symbol with its variation selector", "❤️"],
    ["© with its variation selector", "©️"],
  ])("accepts %s", (_, value) => {
    expect(isEmoji(value)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["text", "hello"],
    ["a letter", "a"],
    ["a digit", "1"],
    ["#", "#"],
    ["two emoji", "😀😀"],
    ["two flags", "🇫🇷🇩🇪"],
    ["an emoji with trailing text", "😀x"],
    ["an emoji with a trailing space", "😀 "],
    ["an emoji with a leading space", " 😀"],
    ["a bare variation selector", "\uFE0F"],
    ["a bare zero-width joiner", "\u200D"],
    ["a lone skin tone modifier on text", "a🏽"],
    ["a shortcode", ":smile:"],
    ["an unqualified heart", "❤"],
    ["an unqualified keycap", "1⃣"],
    ["a needless variation selector", "😀\uFE0F"],
    ["a lone regional indicator", "🇦"],
    ["a family with a doubled joiner", "👨\u200D\u200D👩"],
    ["a lone surrogate", "\uD83D"],
    ["a long run of emoji", "😀".repeat(40)],
  ])("refuses %s", (_, value) => {
    expect(isEmoji(value)).toBe(false);
  });
});

describe("parseReactionKey", () => {
  it.each([
    ["😀", "😀"],
    ["👍🏽", "👍🏽"],
    ["🏳️‍🌈", "🏳️‍🌈"],
    ["1️⃣", "1️⃣"],
    ["🇯🇵", "🇯🇵"],
    // Fediverse servers often send the text form; one reaction must have one key.
    ["❤", "❤️"],
    ["1⃣", "1️⃣"],
    ["🏳\u200D🌈", "🏳️‍🌈"],
    ["😀\uFE0F", "😀"],
  ])("reads %j as the Unicode emoji %j", (value, emoji) => {
    expect(parseReactionKey(value)).toEqual({ kind: "unicode", emoji });
  });

  it.each([
    [":blobcat:", "blobcat"],
    [":party_parrot:", "party_parrot"],
    [":+1:", "+1"],
    [":-1:", "-1"],
    [":Mixed-Case_9:", "Mixed-Case_9"],
    [`:${"a".repeat(64)}:`, "a".repeat(64)],
  ])("reads %j as the custom emoji %j", (value, shortcode) => {
    expect(parseReactionKey(value)).toEqual({ kind: "custom", shortcode });
  });

  it.each([
    [":blobcat@remote.example:", "blobcat", "remote.example"],
    [":blob_2@127.0.0.1:8080:", "blob_2", "127.0.0.1:8080"],
  ])("reads %j as another server's custom emoji (Misskey's form)", (value, shortcode, host) => {
    expect(parseReactionKey(value)).toEqual({ kind: "custom", shortcode, host });
  });

  it.each([
    ["empty", ""],
    ["text", "like"],
    ["a digit", "1"],
    ["a hash", "#"],
    ["a bare variation selector", "\uFE0F"],
    ["two emoji", "👍👍"],
    ["an emoji and text", "👍 yes"],
    ["a padded emoji", " 👍"],
    ["empty colons", "::"],
    ["one colon", ":smile"],
    ["a shortcode with a dot", ":a.b:"],
    ["a shortcode with a space", ":a b:"],
    ["a shortcode with an uppercase host", ":blobcat@Remote.example:"],
    ["a shortcode with an empty host", ":blobcat@:"],
    ["a shortcode with two hosts", ":blobcat@a.example@b.example:"],
    ["a shortcode too long", `:${"a".repeat(65)}:`],
    ["a shortcode with non-ASCII letters", ":café:"],
    ["a shortcode in extra colons", "::smile::"],
    ["markup", "<b>"],
    ["a very long string", "👍".repeat(1000)],
  ])("refuses %s", (_, value) => {
    expect(parseReactionKey(value)).toBeUndefined();
  });

  it("normalises to NFC, not NFKC, which would turn ™️ into letters", () => {
    expect(parseReactionKey("™️")).toEqual({ kind: "unicode", emoji: "™️" });
    expect(parseReactionKey("™")).toEqual({ kind: "unicode", emoji: "™️" });
    expect(parseReactionKey("ℹ️")).toEqual({ kind: "unicode", emoji: "ℹ️" });
  });

  it("gives the same key for an emoji in NFC and in NFD", () => {
    for (const emoji of ["😀", "👍🏽", "🏳️‍🌈", "1️⃣", "🇫🇷", "❤️", "👨‍👩‍👧"]) {
      expect(parseReactionKey(emoji.normalize("NFD"))).toEqual({ kind: "unicode", emoji });
    }
  });
});

describe("the full emoji set the client offers (emojibase-data)", () => {
  // Every emoji of every category with each of its skin tones: what the picker can send.
  const offered = emojibase
    .filter((e) => e.group !== undefined)
    .flatMap((e) => [e, ...(e.skins ?? [])])
    .map((e) => ({ unicode: e.unicode, label: e.label }));

  it("holds thousands of emoji, Emoji 17's among them", () => {
    expect(offered.length).toBeGreaterThan(3900);
    expect(offered.map((e) => e.label)).toEqual(expect.arrayContaining(["distorted face", "orca", "treasure chest"]));
  });

  it("accepts each as a reaction, under its fully-qualified form", () => {
    const refused = offered.filter(({ unicode }) => {
      const key = parseReactionKey(unicode);
      return key?.kind !== "unicode" || !isEmoji(key.emoji);
    });
    expect(refused).toEqual([]);
  });

  it("gives emojibase's needless variation selectors the key that the plain emoji has", () => {
    // emojibase writes 👍 as U+1F44D U+FE0F; Unicode's fully-qualified form has no selector.
    const decorated = offered.filter(({ unicode }) => !isEmoji(unicode));
    expect(decorated.length).toBeGreaterThan(0);
    for (const { unicode } of decorated) {
      expect(parseReactionKey(unicode)).toEqual({ kind: "unicode", emoji: unicode.replaceAll("\uFE0F", "") });
    }
  });

  it("still refuses the lone regional indicators it lists outside any category", () => {
    const letters = emojibase.filter((e) => e.group === undefined);
    expect(letters).toHaveLength(26);
    for (const { unicode } of letters) expect(parseReactionKey(unicode)).toBeUndefined();
  });
});
