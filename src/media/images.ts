import { fileTypeFromBuffer } from "file-type";
import { AppError } from "../errors.ts";

/**
 * libvips, loaded on first use: it costs an idle process about 13 MiB that a server nobody
 * uploads an image to need not carry.
 */
export async function libvips(): Promise<typeof import("sharp").default> {
  return (await import("sharp")).default;
}

/**
 * The image types accepted for avatars: the raster formats every browser renders. SVG is not
 * among them on purpose: it is a document that can carry scripts and external references.
 */
export const avatarMediaTypes = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;

/** One of the accepted image media types. */
export type ImageMediaType = (typeof avatarMediaTypes)[number];

/** The file name extension that goes with each accepted image media type. */
export type ImageExtension = "png" | "jpg" | "webp" | "gif";

/** Limits an image must keep to. */
export interface ImageLimits {
  /** The largest accepted size of the file, in bytes. */
  maxBytes: number;
  /** The widest accepted image, in pixels. */
  maxWidth: number;
  /** The tallest accepted image, in pixels. */
  maxHeight: number;
  /** The most pixels (width × height) accepted; `maxWidth * maxHeight` when left out. */
  maxPixels?: number;
}

/** What {@link inspectImage} learnt from an image's bytes. */
export interface ImageInfo {
  mediaType: ImageMediaType;
  extension: ImageExtension;
  width: number;
  height: number;
}

interface Size {
  width: number;
  height: number;
}

const formats = {
  "image/png": { extension: "png", name: "PNG", readSize: pngSize },
  "image/jpeg": { extension: "jpg", name: "JPEG", readSize: jpegSize },
  "image/webp": { extension: "webp", name: "WebP", readSize: webpSize },
  "image/gif": { extension: "gif", name: "GIF", readSize: gifSize },
} as const satisfies Record<ImageMediaType, { extension: ImageExtension; name: string; readSize: unknown }>;

// file-type names an animated PNG `image/apng`; it is a PNG that every PNG decoder shows.
const sniffedAliases: ReadonlyMap<string, ImageMediaType> = new Map([["image/apng", "image/png"]]);

const acceptedNames = "PNG, JPEG, WebP and GIF";
const acceptedAlternatives = "PNG, JPEG, WebP or GIF";

/**
 * Recognises an image from its bytes alone and reads its dimensions from the header, without
 * decoding any pixels: a tiny file that declares a huge image is refused as fast as a small one.
 * A declared media type or a file name is never consulted; the caller should store and serve
 * the image with the returned `mediaType` and `extension`.
 *
 * @param bytes The whole file.
 * @param limits The size and dimension limits; `maxPixels` defaults to `maxWidth * maxHeight`.
 * @returns The media type, its file name extension, and the width and height in pixels.
 * @throws {AppError} `payload_too_large` when `bytes` is longer than `limits.maxBytes` (checked
 *   before anything else); `unsupported_media_type` when the bytes are not a PNG (animated or
 *   not), JPEG (baseline, extended or progressive), WebP (lossy, lossless or extended) or GIF, or
 *   when the header is truncated or malformed; `validation_failed` when the width or height is 0,
 *   larger than `maxWidth` or `maxHeight`, or when width × height is larger than `maxPixels`.
 *   No other error escapes.
 */
export async function inspectImage(bytes: Uint8Array, limits: ImageLimits): Promise<ImageInfo> {
  if (bytes.length > limits.maxBytes) {
    const details = { size: bytes.length, maxBytes: limits.maxBytes };
    const message = `The image is ${bytes.length} bytes; at most ${limits.maxBytes} are accepted.`;
    throw new AppError("payload_too_large", message, { details });
  }
  if (bytes.length === 0) {
    throw new AppError("unsupported_media_type", `The image is empty; send a ${acceptedAlternatives} image.`);
  }
  const mediaType = await sniff(bytes);
  const format = formats[mediaType];
  let size: Size | undefined;
  try {
    size = format.readSize(bytes);
  } catch (cause) {
    if (cause instanceof AppError) throw cause;
    // The readers check every offset; this is only a safety net so that hostile bytes can never
    // turn into a 500.
    throw malformed(format.name, cause);
  }
  if (size === undefined) throw malformed(format.name);
  checkDimensions(size, limits);
  return { mediaType, extension: format.extension, width: size.width, height: size.height };
}

async function sniff(bytes: Uint8Array): Promise<ImageMediaType> {
  let sniffed: string | undefined;
  try {
    sniffed = (await fileTypeFromBuffer(bytes))?.mime;
  } catch (cause) {
    throw new AppError("unsupported_media_type", `The file is not a ${acceptedAlternatives} image.`, { cause });
  }
  const mediaType = sniffed === undefined ? undefined : (sniffedAliases.get(sniffed) ?? sniffed);
  if (mediaType !== undefined && isImageMediaType(mediaType)) return mediaType;
  const what = sniffed === undefined ? "its type was not recognised" : `it looks like ${sniffed}`;
  throw new AppError("unsupported_media_type", `Only ${acceptedNames} images are accepted; ${what}.`, {
    details: { detected: sniffed ?? null, accepted: avatarMediaTypes },
  });
}

function isImageMediaType(type: string): type is ImageMediaType {
  return (avatarMediaTypes as readonly string[]).includes(type);
}

function malformed(name: string, cause?: unknown): AppError {
  return new AppError("unsupported_media_type", `The ${name} header is truncated or malformed.`, { cause });
}

function checkDimensions({ width, height }: Size, limits: ImageLimits): void {
  const maxPixels = limits.maxPixels ?? limits.maxWidth * limits.maxHeight;
  const details = { width, height, maxWidth: limits.maxWidth, maxHeight: limits.maxHeight, maxPixels };
  let message: string | undefined;
  if (width === 0 || height === 0) {
    message = `The image is ${width}×${height} pixels: it has no pixels.`;
  } else if (width > limits.maxWidth || height > limits.maxHeight) {
    message = `The image is ${width}×${height} pixels; at most ${limits.maxWidth}×${limits.maxHeight} are accepted.`;
  } else if (width * height > maxPixels) {
    message = `The image has ${width * height} pixels (${width}×${height}); at most ${maxPixels} are accepted.`;
  }
  if (message !== undefined) throw new AppError("validation_failed", message, { details });
}

function view(bytes: Uint8Array): DataView {
  // Bounded to the view, not the whole ArrayBuffer: a pooled Node Buffer shares its memory.
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

// PNG (ISO/IEC 15948, W3C PNG 3rd ed.): 8-byte signature, then IHDR must be the first chunk:
// length 13, "IHDR", width u32 BE, height u32 BE, bit depth, colour type, compression, filter,
// interlace, CRC.
const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const pngBitDepths: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function pngSize(bytes: Uint8Array): Size | undefined {
  if (bytes.length < 33 || pngSignature.some((byte, i) => bytes[i] !== byte)) return undefined;
  const data = view(bytes);
  if (data.getUint32(8) !== 13 || ascii(bytes, 12, 16) !== "IHDR") return undefined;
  const [bitDepth, colourType, compression, filter, interlace] = [24, 25, 26, 27, 28].map((at) => data.getUint8(at));
  if (bitDepth === undefined || colourType === undefined || !pngBitDepths[colourType]?.includes(bitDepth)) {
    return undefined;
  }
  if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1)) return undefined;
  return { width: data.getUint32(16), height: data.getUint32(20) };
}

// JPEG (ITU-T T.81, B.1.1): SOI, then marker segments (0xFF, a marker byte, a 16-bit length that
// counts itself) up to the frame header SOFn, which holds precision, height, width and the
// components. Every byte before SOF must belong to a segment: garbage, a scan (SOS) or the end
// (EOI) before the frame header means the file is broken or not a JPEG at all.
const sofMarkers = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
// Baseline, extended sequential and progressive Huffman: what browsers decode. Lossless,
// hierarchical and arithmetic-coded frames are not shown by browsers.
const acceptedSofMarkers = new Set([0xc0, 0xc1, 0xc2]);

function jpegSize(bytes: Uint8Array): Size | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    // Any number of 0xFF fill bytes may precede a marker (T.81, B.1.1.2).
    while (bytes[i] === 0xff) i++;
    const marker = bytes[i];
    i++;
    // A marker without a length (TEM, RSTn, SOI, EOI) or a scan cannot come before the frame.
    if (marker === undefined || marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xda)) {
      return undefined;
    }
    if (i + 2 > bytes.length) return undefined;
    const length = ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
    if (length < 2 || i + length > bytes.length) return undefined;
    if (sofMarkers.has(marker)) {
      if (!acceptedSofMarkers.has(marker)) {
        throw new AppError(
          "unsupported_media_type",
          "This JPEG uses a coding process browsers do not show (lossless, hierarchical or arithmetic); send a baseline or progressive JPEG.",
        );
      }
      // Length, precision (1 byte), height, width, component count, then 3 bytes per component.
      const components = bytes[i + 7] ?? 0;
      if (components === 0 || length !== 8 + 3 * components) return undefined;
      const data = view(bytes);
      return { height: data.getUint16(i + 3), width: data.getUint16(i + 5) };
    }
    i += length;
  }
  return undefined;
}

// GIF (GIF89a specification, 17–18): "GIF87a" or "GIF89a", then the logical screen descriptor:
// width and height u16 LE, flags, background colour, aspect ratio.
function gifSize(bytes: Uint8Array): Size | undefined {
  if (bytes.length < 13) return undefined;
  const signature = ascii(bytes, 0, 6);
  if (signature !== "GIF87a" && signature !== "GIF89a") return undefined;
  const data = view(bytes);
  return { width: data.getUint16(6, true), height: data.getUint16(8, true) };
}

// WebP (RFC 9649): "RIFF", size u32 LE, "WEBP", then the first chunk: FourCC, size u32 LE, data.
function webpSize(bytes: Uint8Array): Size | undefined {
  if (bytes.length < 20 || ascii(bytes, 0, 4) !== "RIFF" || ascii(bytes, 8, 12) !== "WEBP") return undefined;
  const data = view(bytes);
  const chunkSize = data.getUint32(16, true);
  switch (ascii(bytes, 12, 16)) {
    case "VP8 ": {
      // RFC 6386, 9.1: a 3-byte frame tag whose lowest bit is 0 for a key frame, the start code
      // 9D 01 2A, then 14-bit width and height (the top two bits are the upscaling factor).
      if (bytes.length < 30 || chunkSize < 10) return undefined;
      if (((bytes[20] ?? 1) & 1) !== 0 || bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) {
        return undefined;
      }
      return { width: data.getUint16(26, true) & 0x3fff, height: data.getUint16(28, true) & 0x3fff };
    }
    case "VP8L": {
      // RFC 9649, 3.2: signature 0x2F, then width − 1 and height − 1 in 14 bits each, one alpha
      // bit and a 3-bit version that must be 0.
      if (bytes.length < 25 || chunkSize < 5 || bytes[20] !== 0x2f) return undefined;
      const bits = data.getUint32(21, true);
      if (bits >>> 29 !== 0) return undefined;
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case "VP8X": {
      // RFC 9649, 2.7: flags (4 bytes), then canvas width − 1 and height − 1 in 24 bits each.
      if (bytes.length < 30 || chunkSize < 10) return undefined;
      const u24 = (at: number) => data.getUint16(at, true) | (data.getUint8(at + 2) << 16);
      return { width: u24(24) + 1, height: u24(27) + 1 };
    }
    default:
      return undefined;
  }
}

// A minimal EXIF segment that says only the orientation (big-endian TIFF, one IFD0 entry).
function orientationSegment(orientation: number): Uint8Array {
  return Uint8Array.from([
    0xff,
    0xe1,
    0x00,
    0x22, // APP1, length 34
    0x45,
    0x78,
    0x69,
    0x66,
    0x00,
    0x00, // "Exif\0\0"
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD0 at 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation, SHORT
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ]);
}

/**
 * A JPEG without the metadata cameras and phones leave in it (EXIF with the GPS position and
 * device, XMP, Photoshop/IPTC, comments), losslessly: the image data is copied as it is. The
 * orientation, which browsers apply, stays in a minimal EXIF segment of its own; colour
 * profiles (APP2) and Adobe's colour transform (APP14) stay too. A file whose segments are not
 * as expected is returned unchanged.
 * @param orientation The EXIF orientation (1–8) read from the original.
 */
export function withoutJpegMetadata(bytes: Uint8Array, orientation: number): Uint8Array {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes;
  const segments: Uint8Array[] = [];
  let at = 2;
  while (at + 4 <= bytes.length) {
    const marker = bytes[at + 1] as number;
    if (bytes[at] !== 0xff) return bytes;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xda) {
      // Start of scan: the rest is image data, copied as it is.
      const kept = orientation > 1 && orientation <= 8 ? [orientationSegment(orientation)] : [];
      const first = segments[0]?.[1] === 0xe0 ? 1 : 0; // after a leading JFIF APP0
      const parts = [
        bytes.subarray(0, 2),
        ...segments.slice(0, first),
        ...kept,
        ...segments.slice(first),
        bytes.subarray(at),
      ];
      return new Uint8Array(Buffer.concat(parts));
    }
    const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
    if (length < 2 || at + 2 + length > bytes.length) return bytes;
    if (!(marker === 0xe1 || marker === 0xed || marker === 0xfe)) segments.push(bytes.subarray(at, at + 2 + length));
    at += 2 + length;
  }
  return bytes;
}

/**
 * An image as it is stored: a JPEG without its metadata (see {@link withoutJpegMetadata}),
 * other formats as they came; and its displayed size, width and height swapped when the EXIF
 * orientation turns it a quarter.
 */
export async function scrubImage(
  bytes: Uint8Array,
  image: Pick<ImageInfo, "mediaType" | "width" | "height">,
): Promise<{ bytes: Uint8Array; width: number; height: number }> {
  // Reads the header only; the image was checked by inspectImage before.
  const sharp = await libvips();
  const orientation =
    (
      await sharp(bytes)
        .metadata()
        .catch(() => undefined)
    )?.orientation ?? 1;
  const turned = orientation >= 5 && orientation <= 8;
  return {
    bytes: image.mediaType === "image/jpeg" ? withoutJpegMetadata(bytes, orientation) : bytes,
    width: turned ? image.height : image.width,
    height: turned ? image.width : image.height,
  };
}
