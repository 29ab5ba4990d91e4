import { describe, expect, it } from "vitest";
import { deviceLabelFrom } from "../../../src/accounts/sessions.ts";
import { checkUsername } from "../../../src/accounts/usernames.ts";
import { AppError } from "../../../src/errors.ts";
import { addressKey } from "../../../src/http/client-address.ts";
import { cleanName, cleanText, codePointLength } from "../../../src/text.ts";

describe("cleanName", () => {
  it.each([
    ["  Ada   Lovelace  ", "Ada Lovelace"],
    ["Ada\u202ELovelace", "AdaLovelace"],
    ["\u2066Ada\u2069", "Ada"],
    ["Ada\u200B\u200B\u200BLove", "AdaLove"],
    ["Ada\u200D\u200D\u200DLove", "AdaLove"],
    ["\u200DAda", "Ada"],
    ["Ada\u0000\u0007\u001BLove", "Ada Love"],
    ["Ada\nLove\tlace", "Ada Love lace"],
    ["Ada\u2028Love", "Ada Love"],
    ["\uFEFFAda", "Ada"],
    ["e\u0301", "é"],
    ["\u061CAda", "Ada"],
    ["Ada\u206ELove", "AdaLove"],
    ["Ada\u00ADLove", "AdaLove"],
    ["Ada\u{E0041}\u{E0042}", "Ada"],
  ])("cleans %j to %j", (input, expected) => {
    expect(cleanName(input)).toBe(expected);
  });

  it("keeps a single joiner inside an emoji sequence", () => {
    const family = "👨\u200D👩\u200D👧";
    expect(cleanName(`${family} family`)).toBe(`${family} family`);
  });

  it("keeps the tags of an emoji flag", () => {
    const scotland = "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    expect(cleanName(`${scotland} Ada`)).toBe(`${scotland} Ada`);
  });

  it("leaves nothing of a name made only of invisible characters", () => {
    expect(cleanName("\u202E\u200B\u2066\u200D\u200D \u00A0")).toBe("");
  });
});

describe("cleanText", () => {
  it("keeps paragraphs but not runs of blank lines, and cleans each line", () => {
    expect(cleanText("one\u202E\r\ntwo\n\n\n\nthree  ")).toBe("one\ntwo\n\nthree");
  });
});

describe("codePointLength", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(codePointLength("😀😀")).toBe(2);
    expect("😀😀".length).toBe(4);
  });
});

describe("checkUsername", () => {
  const check = (name: string) => checkUsername(name, "chat.example");
  const code = (name: string) => {
    try {
      check(name);
      return "accepted";
    } catch (error) {
      return (error as AppError).code;
    }
  };

  it("lowercases valid names", () => {
    expect(check("Alice_99")).toBe("alice_99");
    expect(check("abc")).toBe("abc");
    expect(check("a".repeat(32))).toBe("a".repeat(32));
  });

  it.each(["ab", "a".repeat(33), "al-ice", "al.ice", "al ice", "álice", "", "ａｌｉｃｅ"])("refuses %j", (name) => {
    expect(code(name)).toBe("validation_failed");
  });

  it.each(["admin", "ROOT", "actor", "users", "api", "everyone"])("refuses the reserved name %j", (name) => {
    expect(code(name)).toBe("validation_failed");
  });

  it("refuses the instance actor's name", () => {
    expect(code("chatserver")).toBe("accepted");
    expect(() => checkUsername("chatserver", "chatserver")).toThrow(AppError);
  });
});

describe("addressKey", () => {
  it("keeps IPv4 addresses whole and unwraps IPv4-mapped IPv6", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("groups IPv6 addresses by /64", () => {
    expect(addressKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff:0:0:9")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("has a key for an unknown address", () => {
    expect(addressKey(undefined)).toBe("unknown");
  });
});

describe("deviceLabelFrom", () => {
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
      "Edge on Windows",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      "Safari on macOS",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
      "Chrome on Android",
    ],
    ["curl/8.5.0", "curl"],
    [undefined, "Unknown device"],
    ["", "Unknown device"],
  ])("labels %j as %j", (ua, label) => {
    expect(deviceLabelFrom(ua)).toBe(label);
  });
});
