import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AppError } from "../../../src/errors.ts";
import { avatarMediaTypes, type ImageLimits, inspectImage, withoutJpegMetadata } from "../../../src/media/images.ts";

// Every image here is built in the test: no binary fixtures. The few base64 constants are real,
// decodable 1×1 images (checked with jpeg-js, libwebp and omggif when they were written).

const MB = 1024 * 1024;
const limits: ImageLimits = { maxBytes: 2 * MB, maxWidth: 4096, maxHeight: 4096 };

const text = (s: string) => new TextEncoder().encode(s);
const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

function concat(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const u16be = (n: number) => [(n >>> 8) & 0xff, n & 0xff];
const u16le = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u24le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** A deterministic xorshift32 generator, so that "random" inputs are the same on every run. */
function randomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

// --- PNG -----------------------------------------------------------------------------------

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngChunk(type: string, data: Uint8Array | readonly number[] = []): Uint8Array {
  const typed = concat(text(type), data);
  return concat(u32be(data.length), typed, u32be(crc32(typed)));
}

function ihdr(width: number, height: number, bitDepth = 8, colourType = 6): Uint8Array {
  return pngChunk("IHDR", [...u32be(width), ...u32be(height), bitDepth, colourType, 0, 0, 0]);
}

/** A complete PNG: a real, decodable image when it is 1×1 (one red RGBA pixel). */
function png(width: number, height: number, extra: Uint8Array[] = []): Uint8Array {
  const scanline = [0, 0xff, 0, 0, 0xff]; // filter type 0, then one RGBA pixel
  return concat(
    pngSignature,
    ihdr(width, height),
    ...extra,
    pngChunk("IDAT", deflateSync(new Uint8Array(scanline))),
    pngChunk("IEND"),
  );
}

// --- JPEG ----------------------------------------------------------------------------------

/** A real 1×1 grey baseline JPEG (SOI, DQT, SOF0, two DHT, SOS, one MCU, EOI): 141 bytes. */
const jpeg1x1 = fromBase64(
  "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z",
);

const segment = (marker: number, body: readonly number[]) => [0xff, marker, ...u16be(body.length + 2), ...body];
const jfif = segment(0xe0, [...text("JFIF\0"), 1, 1, 0, ...u16be(72), ...u16be(72), 0, 0]);
const exif = segment(0xe1, [...text("Exif\0\0"), ...text("MM\0*"), ...u32be(8), 0, 0]);
const dqt = segment(0xdb, [0, ...new Array(64).fill(1)]);
const dht = [
  ...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]),
  ...segment(0xc4, [0x10, 1, ...new Array(15).fill(0), 0]),
];
const sos = segment(0xda, [1, 1, 0x00, 0, 63, 0]);

function sof(width: number, height: number, marker = 0xc0, components = 3): number[] {
  const specs = Array.from({ length: components }, (_, i) => [i + 1, 0x11, 0]).flat();
  return segment(marker, [8, ...u16be(height), ...u16be(width), components, ...specs]);
}

/** A JPEG whose headers are right (the scan data is only right for 1×1 images). */
function jpeg(width: number, height: number, options: { marker?: number; before?: number[] } = {}): Uint8Array {
  const { marker = 0xc0, before = [...jfif, ...exif, ...dqt] } = options;
  return concat([0xff, 0xd8], before, sof(width, height, marker), dht, sos, [0x3f], [0xff, 0xd9]);
}

// --- GIF -----------------------------------------------------------------------------------

/** The classic transparent 1×1 GIF89a. */
const gif1x1 = fromBase64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

function gif(width: number, height: number, version = "GIF89a"): Uint8Array {
  return concat(text(version), u16le(width), u16le(height), [0, 0, 0, 0x3b]);
}

// --- WebP ----------------------------------------------------------------------------------

/** Real 1×1 WebP images: lossy (VP8), lossless (VP8L), and extended with alpha (VP8X). */
const webpLossy1x1 = fromBase64("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA");
const webpLossless1x1 = fromBase64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");
const webpExtended1x1 = fromBase64(
  "UklGRkoAAABXRUJQVlA4WAoAAAAQAAAAAAAAAAAAQUxQSAwAAAARBxAR/Q9ERP8DAABWUDggGAAAABQBAJ0BKgEAAQAAAP4AAA3AAP7mtQAAAA==",
);

function riff(fourcc: string, payload: readonly number[]): Uint8Array {
  const padded = payload.length % 2 === 0 ? payload : [...payload, 0];
  return concat(text("RIFF"), u32le(4 + 8 + padded.length), text("WEBP"), text(fourcc), u32le(payload.length), padded);
}

// RFC 6386, 9.1: key frame tag, start code, 14-bit width and height.
const webpLossy = (w: number, h: number) =>
  riff("VP8 ", [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, ...u16le(w), ...u16le(h), 0, 0]);
// RFC 9649, 3.2: signature 0x2F, then (width − 1) | (height − 1) << 14, alpha bit, version 0.
const webpLossless = (w: number, h: number) => riff("VP8L", [0x2f, ...u32le(((w - 1) | ((h - 1) << 14)) >>> 0), 0]);
// RFC 9649, 2.7: flags, 3 reserved bytes, canvas width − 1 and height − 1 in 24 bits.
const webpExtended = (w: number, h: number) => riff("VP8X", [0x10, 0, 0, 0, ...u24le(w - 1), ...u24le(h - 1)]);

// --- helpers -------------------------------------------------------------------------------

/** The code of the `AppError` that `inspectImage` throws, or "accepted"; any other error fails. */
async function outcome(bytes: Uint8Array, given: ImageLimits = limits): Promise<string> {
  try {
    await inspectImage(bytes, given);
    return "accepted";
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).code;
  }
}

async function refusal(bytes: Uint8Array, given: ImageLimits = limits): Promise<AppError> {
  const error = await inspectImage(bytes, given).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

// --- tests ---------------------------------------------------------------------------------

describe("avatarMediaTypes", () => {
  it("lists the four raster types browsers render, and not SVG", () => {
    expect([...avatarMediaTypes].sort()).toEqual(["image/gif", "image/jpeg", "image/png", "image/webp"]);
  });
});

describe("inspectImage accepts", () => {
  it("a real 1×1 PNG", async () => {
    expect(await inspectImage(png(1, 1), limits)).toEqual({
      mediaType: "image/png",
      extension: "png",
      width: 1,
      height: 1,
    });
  });

  it("a PNG's width and height in the right order", async () => {
    expect(await inspectImage(png(300, 200), limits)).toMatchObject({ width: 300, height: 200 });
  });

  it("an animated PNG as a PNG", async () => {
    const acTL = pngChunk("acTL", [...u32be(1), ...u32be(0)]);
    expect(await inspectImage(png(2, 3, [acTL]), limits)).toEqual({
      mediaType: "image/png",
      extension: "png",
      width: 2,
      height: 3,
    });
  });

  it("a PNG in a Node Buffer and in a view into a larger buffer", async () => {
    expect(await inspectImage(Buffer.from(png(5, 6)), limits)).toMatchObject({ width: 5, height: 6 });
    const backing = concat(randomBytes(7), png(7, 8), randomBytes(9));
    expect(await inspectImage(backing.subarray(7, backing.length - 9), limits)).toMatchObject({ width: 7, height: 8 });
  });

  it("a real 1×1 JPEG", async () => {
    expect(await inspectImage(jpeg1x1, limits)).toEqual({
      mediaType: "image/jpeg",
      extension: "jpg",
      width: 1,
      height: 1,
    });
  });

  it("a JPEG with JFIF and Exif segments and fill bytes before the frame header", async () => {
    const before = [...jfif, 0xff, 0xff, ...exif, ...dqt];
    expect(await inspectImage(jpeg(640, 480, { before }), limits)).toEqual({
      mediaType: "image/jpeg",
      extension: "jpg",
      width: 640,
      height: 480,
    });
  });

  it("extended sequential and progressive JPEG", async () => {
    expect(await inspectImage(jpeg(33, 44, { marker: 0xc1 }), limits)).toMatchObject({ width: 33, height: 44 });
    expect(await inspectImage(jpeg(55, 66, { marker: 0xc2 }), limits)).toMatchObject({ width: 55, height: 66 });
  });

  it("a real 1×1 GIF, and GIF87a and GIF89a headers", async () => {
    expect(await inspectImage(gif1x1, limits)).toEqual({
      mediaType: "image/gif",
      extension: "gif",
      width: 1,
      height: 1,
    });
    expect(await inspectImage(gif(320, 240, "GIF87a"), limits)).toMatchObject({ width: 320, height: 240 });
    expect(await inspectImage(gif(20, 10), limits)).toMatchObject({ mediaType: "image/gif", width: 20, height: 10 });
  });

  it("real 1×1 lossy, lossless and extended WebP", async () => {
    const expected = { mediaType: "image/webp", extension: "webp", width: 1, height: 1 };
    expect(await inspectImage(webpLossy1x1, limits)).toEqual(expected);
    expect(await inspectImage(webpLossless1x1, limits)).toEqual(expected);
    expect(await inspectImage(webpExtended1x1, limits)).toEqual(expected);
  });

  it("WebP dimensions from each kind of header", async () => {
    expect(await inspectImage(webpLossy(400, 300), limits)).toMatchObject({
      mediaType: "image/webp",
      width: 400,
      height: 300,
    });
    expect(await inspectImage(webpLossless(500, 250), limits)).toMatchObject({ width: 500, height: 250 });
    expect(await inspectImage(webpExtended(1000, 700), limits)).toMatchObject({ width: 1000, height: 700 });
  });

  it("a lossy WebP's size without its upscaling bits", async () => {
    // RFC 6386, 9.1: the top two bits of each 16-bit field ask the decoder to upscale; they are
    // not part of the size.
    expect(await inspectImage(webpLossy(400 | 0x4000, 300 | 0xc000), limits)).toMatchObject({
      width: 400,
      height: 300,
    });
  });

  it("an image exactly at every limit", async () => {
    const exact = png(4096, 4096);
    const padded = concat(exact, new Uint8Array(2 * MB - exact.length));
    expect(padded.length).toBe(2 * MB);
    expect(await inspectImage(padded, limits)).toMatchObject({ width: 4096, height: 4096 });
    expect(await inspectImage(png(100, 50), { ...limits, maxPixels: 5000 })).toMatchObject({ width: 100, height: 50 });
  });
});

describe("inspectImage refuses with payload_too_large", () => {
  it("2 MB + 1 byte against a 2 MB limit", async () => {
    const image = png(1, 1);
    const tooLarge = concat(image, new Uint8Array(2 * MB + 1 - image.length));
    const error = await refusal(tooLarge);
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toContain(String(2 * MB));
  });

  it("before looking at the bytes", async () => {
    expect(await outcome(concat(text("<!DOCTYPE html>"), new Uint8Array(2 * MB)))).toBe("payload_too_large");
    expect(await outcome(new Uint8Array(11), { ...limits, maxBytes: 10 })).toBe("payload_too_large");
  });
});

describe("inspectImage refuses with unsupported_media_type", () => {
  const other = /^Only PNG, JPEG, WebP and GIF images are accepted/;
  const emptyBody = /empty/;
  const pngHeader = /^The PNG header is truncated or malformed/;
  const jpegHeader = /^The JPEG header is truncated or malformed/;
  const codingProcess = /^This JPEG uses a coding process browsers do not show/;
  const gifHeader = /^The GIF header is truncated or malformed/;
  const webpHeader = /^The WebP header is truncated or malformed/;
  // The message shows which check refused the bytes: the sniffer or the header reader.
  const cases: [string, Uint8Array, RegExp][] = [
    ["an empty body", new Uint8Array(), emptyBody],
    ["SVG", text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'), other],
    [
      "SVG with an XML prolog",
      text('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
      other,
    ],
    [
      "SVG with a BOM and an XML prolog",
      text('\uFEFF<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
      other,
    ],
    ["an HTML document", text("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), other],
    // What a browser would send for HTML saved as avatar.png: the name never reaches
    // inspectImage, and the bytes are HTML, even with a PNG signature further in.
    ["HTML bytes saved as avatar.png", concat(text("<html><img src=x onerror=alert(1)>"), png(1, 1)), other],
    ["PDF", text("%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), other],
    ["plain text", text("hello, this is not an image\n"), other],
    ["random bytes", randomBytes(4096), other],
    ["TIFF", concat(text("II*\0"), u32le(8), new Uint8Array(32)), other],
    ["big-endian TIFF", concat(text("MM\0*"), u32be(8), new Uint8Array(32)), other],
    [
      "BMP",
      concat(text("BM"), u32le(58), [0, 0, 0, 0], u32le(54), u32le(40), u32le(1), u32le(1), new Uint8Array(32)),
      other,
    ],
    ["AVIF", concat(u32be(28), text("ftypavif"), u32be(0), text("avifmif1miaf"), new Uint8Array(16)), other],
    ["HEIC", concat(u32be(24), text("ftypheic"), u32be(0), text("mif1heic"), new Uint8Array(16)), other],
    ["ICO", concat([0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 32, 0], u32le(40), u32le(22), new Uint8Array(40)), other],
    ["a PNG signature alone", Uint8Array.from(pngSignature), other],
    ["a PNG cut inside IHDR", png(1, 1).subarray(0, 24), pngHeader],
    ["a PNG cut inside the IHDR checksum", concat(pngSignature, ihdr(1, 1)).subarray(0, 30), pngHeader],
    ["a PNG whose first chunk is not IHDR", concat(pngSignature, pngChunk("tEXt", text("a\0b")), ihdr(1, 1)), other],
    ["a PNG with an impossible bit depth", concat(pngSignature, ihdr(1, 1, 3, 6), pngChunk("IEND")), pngHeader],
    ["a JPEG with no frame header", concat([0xff, 0xd8], jfif, dqt, dht, sos, [0x3f, 0xff, 0xd9]), jpegHeader],
    ["a JPEG cut after SOI", Uint8Array.from([0xff, 0xd8, 0xff]), jpegHeader],
    [
      "a JPEG cut inside the frame header",
      jpeg(10, 10).subarray(0, 2 + jfif.length + exif.length + dqt.length + 8),
      jpegHeader,
    ],
    [
      "a JPEG with garbage before the frame header",
      concat([0xff, 0xd8], jfif, [1, 2, 3, 4, 5], sof(10, 10), dht, sos),
      jpegHeader,
    ],
    ["a JPEG segment longer than the file", concat([0xff, 0xd8], [0xff, 0xe0, 0xff, 0xff], text("JFIF\0")), jpegHeader],
    [
      "a JPEG frame header with a wrong length",
      concat([0xff, 0xd8], segment(0xc0, [8, 0, 1, 0, 1, 3, 1, 0x11])),
      jpegHeader,
    ],
    ["a lossless JPEG", jpeg(10, 10, { marker: 0xc3 }), codingProcess],
    ["an arithmetic-coded JPEG", jpeg(10, 10, { marker: 0xc9 }), codingProcess],
    ["a GIF cut inside the screen descriptor", text("GIF89a\x01\x00"), gifHeader],
    ["a GIF with an unknown version", gif(1, 1, "GIF88a"), gifHeader],
    ["a WebP with no image chunk", concat(text("RIFF"), u32le(4), text("WEBP")), webpHeader],
    ["a WebP with an unknown first chunk", riff("VP8Z", new Array(10).fill(0)), webpHeader],
    ["a WebP cut inside VP8X", webpExtended(10, 10).subarray(0, 26), webpHeader],
    ["a lossy WebP without the VP8 start code", riff("VP8 ", [0x30, 0x01, 0x00, 0, 0, 0, 1, 0, 1, 0]), webpHeader],
    [
      "a lossy WebP that is not a key frame",
      riff("VP8 ", [0x31, 0x01, 0x00, 0x9d, 0x01, 0x2a, 1, 0, 1, 0]),
      webpHeader,
    ],
    ["a lossless WebP without its signature", riff("VP8L", [0x00, 0xff, 0xff, 0xff, 0x0f, 0]), webpHeader],
    ["a lossless WebP with a non-zero version", riff("VP8L", [0x2f, 0, 0, 0, 0x20, 0]), webpHeader],
  ];

  it.each(cases)("%s", async (_name, bytes, message) => {
    const error = await refusal(bytes);
    expect(error.code).toBe("unsupported_media_type");
    expect(error.message).toMatch(message);
  });

  it("says which types are accepted and what the bytes look like", async () => {
    const error = await refusal(text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'));
    expect(error.message).toMatch(/PNG, JPEG, WebP and GIF/);
    expect(error.details).toMatchObject({ accepted: [...avatarMediaTypes] });
    const pdf = await refusal(text("%PDF-1.7\n"));
    expect(pdf.details).toMatchObject({ detected: "application/pdf" });
  });

  it("reads only the bytes in the view, not the rest of the buffer behind it", async () => {
    // A pooled Node Buffer or a subarray shares memory with other data: the header must not be
    // completed from bytes beyond the end of the view.
    const whole = png(1, 1);
    expect(await outcome(whole.subarray(0, 24))).toBe("unsupported_media_type");
    const jpegWhole = jpeg(10, 10);
    expect(await outcome(jpegWhole.subarray(0, jpegWhole.length - dht.length - sos.length - 20))).toBe(
      "unsupported_media_type",
    );
  });

  it("never lets anything but an AppError escape, whatever the bytes", async () => {
    const samples = [png(3, 2), jpeg(3, 2), gif(3, 2), webpLossy(3, 2), webpLossless(3, 2), webpExtended(3, 2)];
    const codes = new Set<string>();
    for (const sample of samples) {
      for (let length = 0; length < Math.min(sample.length, 400); length++) {
        codes.add(await outcome(sample.subarray(0, length)));
      }
      const noise = randomBytes(3 * 300, sample.length);
      for (let i = 0; i < 300; i++) {
        const mutated = sample.slice();
        mutated[(noise[3 * i] ?? 0) % Math.min(sample.length, 40)] = noise[3 * i + 1] ?? 0;
        const flipped = (noise[3 * i + 2] ?? 0) % sample.length;
        mutated[flipped] = (mutated[flipped] ?? 0) ^ 0xff;
        codes.add(await outcome(mutated));
      }
    }
    // `outcome` fails the test on any non-AppError; all three outcomes must have come up.
    expect([...codes].sort()).toEqual(["accepted", "unsupported_media_type", "validation_failed"]);
  });
});

describe("inspectImage refuses with validation_failed", () => {
  it("a PNG declaring 20000×20000 in a tiny file, from the header alone", async () => {
    for (const bytes of [png(20000, 20000), concat(pngSignature, ihdr(20000, 20000))]) {
      expect(bytes.length).toBeLessThan(100);
      const error = await refusal(bytes);
      expect(error.code).toBe("validation_failed");
      expect(error.message).toContain("20000×20000");
      expect(error.details).toMatchObject({ width: 20000, height: 20000, maxWidth: 4096, maxHeight: 4096 });
    }
  });

  it("a PNG declaring 30000×30000 and one declaring 2³²−1 × 2³²−1", async () => {
    const error = await refusal(png(30000, 30000));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("30000×30000");
    expect(await outcome(concat(pngSignature, ihdr(0xffffffff, 0xffffffff)))).toBe("validation_failed");
  });

  it("huge sizes declared by JPEG, GIF and WebP headers", async () => {
    const huge = [
      jpeg(65535, 65535),
      jpeg(65535, 65535, { marker: 0xc2 }),
      gif(65535, 65535),
      webpLossy(16383, 16383),
      webpLossless(16384, 16384),
      webpExtended(1 << 24, 1 << 24),
    ];
    for (const bytes of huge) {
      const error = await refusal(bytes);
      expect(error.code).toBe("validation_failed");
    }
  });

  it("a width or height of 0", async () => {
    for (const bytes of [png(0, 1), png(1, 0), jpeg(10, 0), gif(0, 5), webpLossy(0, 5)]) {
      const error = await refusal(bytes);
      expect(error.code).toBe("validation_failed");
      expect(error.message).toMatch(/no pixels/);
    }
  });

  it("only one side over its limit", async () => {
    expect(await outcome(png(4097, 1))).toBe("validation_failed");
    expect(await outcome(png(1, 4097))).toBe("validation_failed");
    expect(await outcome(png(4096, 1))).toBe("accepted");
    const narrow = { ...limits, maxWidth: 100, maxHeight: 1000 };
    expect(await outcome(webpExtended(101, 10), narrow)).toBe("validation_failed");
    expect(await outcome(webpExtended(10, 1000), narrow)).toBe("accepted");
  });

  it("more pixels than maxPixels", async () => {
    const error = await refusal(png(100, 51), { ...limits, maxPixels: 5000 });
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("5100");
    expect(await outcome(gif(71, 71), { ...limits, maxPixels: 5000 })).toBe("validation_failed");
  });
});

describe("withoutJpegMetadata", () => {
  it("leaves what it cannot walk as it is: other formats, a truncated segment, a missing marker", () => {
    const cases = [
      png(4, 4),
      Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0x40, 0x00, 0x45, 0x78]),
      Uint8Array.from([0xff, 0xd8, 0x12, 0x34, 0x00, 0x10, 0xff, 0xda]),
      Uint8Array.from([0xff, 0xd8]),
    ];
    for (const bytes of cases) expect(withoutJpegMetadata(bytes, 6)).toBe(bytes);
  });

  it("drops EXIF, XMP, IPTC and comments before the scan, and keeps the rest byte for byte", () => {
    const segment = (marker: number, body: string) =>
      Uint8Array.from([0xff, marker, 0, body.length + 2, ...Buffer.from(body)]);
    const scan = Uint8Array.from([0xff, 0xda, 0x00, 0x02, 1, 2, 3, 0xff, 0xe1, 0xff, 0xd9]);
    const parts = [
      Uint8Array.from([0xff, 0xd8]),
      segment(0xe0, "JFIF\0"),
      segment(0xe1, "Exif\0\0GPS here"),
      segment(0xe2, "ICC_PROFILE"),
      segment(0xed, "Photoshop IPTC"),
      segment(0xfe, "a comment"),
      scan,
    ];
    const out = withoutJpegMetadata(new Uint8Array(Buffer.concat(parts)), 1);
    expect(Buffer.from(out)).toEqual(Buffer.concat([parts[0], parts[1], parts[3], scan] as Uint8Array[]));
  });
});
