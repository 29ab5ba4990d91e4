import { describe, expect, it } from "vitest";
import { AppError } from "../../../src/errors.ts";
import { contentDisposition, sanitizeFileName, servedInline } from "../../../src/media/attachments.ts";
import { remoteFileName } from "../../../src/media/carried.ts";

function refusal(name: string): string | undefined {
  try {
    sanitizeFileName(name);
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return undefined;
}

describe("sanitizeFileName", () => {
  it.each([
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "C:\\boot.ini",
    "a/b.txt",
    "..",
    ".",
    "   ",
    "",
    "nul\u0000.txt",
    "\ud800.txt",
  ])("refuses %j", (name) => {
    expect(refusal(name)).toBe("invalid_filename");
  });

  it("keeps ordinary names, any script, as typed", () => {
    for (const name of ["report.pdf", "Holiday été.jpg", "日本語の資料.docx", "a b (1).tar.gz", ".bashrc"]) {
      expect(sanitizeFileName(name)).toBe(name);
    }
  });

  it("removes controls and bidi overrides, trims, and composes to NFC", () => {
    expect(sanitizeFileName("  invoice\u202Egpj.exe ")).toBe("invoicegpj.exe");
    expect(sanitizeFileName("line\nbreak\t.txt")).toBe("linebreak.txt");
    expect(sanitizeFileName("e\u0301te.txt")).toBe("\u00e9te.txt");
  });

  it.each([
    ["\u202Egnp.exe", "gnp.exe"],
    ["\u2067gnp.exe\u2069", "gnp.exe"],
    ["\u202Dinvoice\u202C.pdf", "invoice.pdf"],
    ["invoice\u200F.pdf\u200E", "invoice.pdf"],
    ["invoice\u061C.pdf", "invoice.pdf"],
    ["photo\u200B.jpg", "photo.jpg"],
    ["photo.jpg\uFEFF", "photo.jpg"],
    ["notes\u2028.txt", "notes.txt"],
    ["notes\u206E.txt", "notes.txt"],
    ["notes\u{E0069}\u{E0067}\u{E006E}.txt", "notes.txt"],
    ["soft\u00ADhyphen.txt", "softhyphen.txt"],
  ])("removes every bidi, format and invisible character from %j", (name, expected) => {
    expect(sanitizeFileName(name)).toBe(expected);
  });

  it("keeps the joiners of an emoji and the tags of a flag", () => {
    const family = "👨\u200D👩\u200D👧";
    const wales = "🏴\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F}";
    expect(sanitizeFileName(`${family} ${wales}.png`)).toBe(`${family} ${wales}.png`);
  });

  it("cuts long names to 200 characters, keeping the extension", () => {
    const name = sanitizeFileName(`${"x".repeat(300)}.jpeg`);
    expect([...name]).toHaveLength(200);
    expect(name.endsWith(".jpeg")).toBe(true);
    expect([...sanitizeFileName("😀".repeat(250))]).toHaveLength(200);
  });
});

describe("remoteFileName", () => {
  it("removes bidi controls from a remote note's name for a file, and from its URL's", () => {
    expect(remoteFileName("\u202Egnp.exe\u061C", "https://remote.example/media/1")).toBe("gnp.exe");
    expect(remoteFileName(null, "https://remote.example/media/%E2%80%AEgnp.exe")).toBe("gnp.exe");
    expect(remoteFileName("\u2066\u2069", "https://remote.example/media/%E2%81%A7fdp.exe")).toBe("fdp.exe");
  });
});

describe("contentDisposition", () => {
  it("gives an ASCII filename and the exact name in filename* (RFC 6266, RFC 8187)", () => {
    expect(contentDisposition("attachment", 'My "best" été 100%.pdf')).toBe(
      `attachment; filename="My _best_ _t_ 100_.pdf"; filename*=UTF-8''My%20%22best%22%20%C3%A9t%C3%A9%20100%25.pdf`,
    );
    expect(contentDisposition("inline", "it's (1).png")).toBe(
      `inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`,
    );
  });
});

describe("servedInline", () => {
  it("shows raster images, audio and video; everything else downloads", () => {
    expect(["image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "audio/mpeg"].map(servedInline)).toEqual(
      Array(6).fill(true),
    );
    expect(
      ["image/svg+xml", "text/html", "application/pdf", "text/plain", "application/xml"].map(servedInline),
    ).toEqual(Array(5).fill(false));
  });
});
