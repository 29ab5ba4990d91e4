import { describe, expect, it } from "vitest";
import { customEntries, isLocalHandle, splitEmoji } from "../../web/src/custom-emoji.ts";

const blob = { shortcode: "blob", url: "https://chat.example/media/emoji/a.png" };
const remote = { shortcode: "blob@other.example", url: "https://chat.example/media/remote-emoji/1?v=x" };

describe("custom emoji in the client", () => {
  it("splits a text at the known :shortcode:s only, case as written", () => {
    expect(splitEmoji("hi :blob: and :Blob: and :nope:!", [blob])).toEqual(["hi ", blob, " and :Blob: and :nope:!"]);
    expect(splitEmoji(":blob::blob:", [blob])).toEqual([blob, blob]);
    expect(splitEmoji("no emoji", [blob])).toEqual(["no emoji"]);
    expect(splitEmoji(":blob:", undefined)).toEqual([":blob:"]);
    expect(splitEmoji("x :blob@other.example: y", [remote])).toEqual(["x ", remote, " y"]);
  });

  it("makes picker entries of a Custom tab", () => {
    const [entry] = customEntries([
      { id: "1", shortcode: "party_blob", url: "/e.gif", mediaType: "image/gif", width: 1, height: 1 },
    ]);
    expect(entry).toMatchObject({ kind: "image", shortcodes: ["party_blob"], label: "party blob", category: "custom" });
  });

  it("tells local handles from others by the signed-in user's host", () => {
    expect(isLocalHandle("alice@chat.example", "olga@chat.example")).toBe(true);
    expect(isLocalHandle("bob@other.example", "olga@chat.example")).toBe(false);
    expect(isLocalHandle("alice", "olga@chat.example")).toBe(true);
  });
});
