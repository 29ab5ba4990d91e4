import { crc32, deflateSync } from "node:zlib";

/**
 * Small valid images, made in code, for upload tests.
 * @module
 */

function pngChunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * A valid PNG (8-bit RGB, correct CRCs). Only a small image gets real pixel rows; a large one
 * declares its size in IHDR and carries a token IDAT (nothing may decode it anyway).
 * @param padding Bytes of an extra ancillary `tEXt` chunk, to make a file of a given size.
 */
export function png(width: number, height: number, options: { seed?: number; padding?: number } = {}): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const small = width * height <= 64 * 64;
  const raw = Buffer.alloc(small ? height * (1 + width * 3) : 1);
  if (small) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width * 3; x++)
        raw[y * (1 + width * 3) + 1 + x] = (x * 37 + y * 11 + (options.seed ?? 0)) & 0xff;
    }
  }
  const chunks = [pngChunk("IHDR", ihdr)];
  if (options.padding) {
    chunks.push(pngChunk("tEXt", Buffer.concat([Buffer.from("Comment\0"), Buffer.alloc(options.padding, 0x61)])));
  }
  chunks.push(pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", new Uint8Array()));
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]));
}

/** A 1×1 GIF89a. */
export const gif1x1 = new Uint8Array(
  Buffer.from("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64"),
);

/** A 1×1 baseline JPEG. */
export const jpeg1x1 = new Uint8Array(
  Buffer.from(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
    "base64",
  ),
);

/** A 1×1 lossless WebP. */
export const webp1x1 = new Uint8Array(Buffer.from("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==", "base64"));
