import { describe, expect, it } from "vitest";
import { AppError } from "../../../src/errors.ts";
import { contentDisposition, sanitizeFileName, servedInline } from "../../../src/media/attachments.ts";

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

  it("cuts long names to 200 characters, keeping the extension", () => {
    const name = sanitizeFileName(`${"x".repeat(300)}.jpeg`);
    expect([...name]).toHaveLength(200);
    expect(name.endsWith(".jpeg")).toBe(true);
    expect([...sanitizeFileName("😀".repeat(250))]).toHaveLength(200);
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
