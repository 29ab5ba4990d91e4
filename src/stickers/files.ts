import { createHash } from "node:crypto";
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { place } from "../media/attachments.ts";
import { isAnimated, makeStill } from "../media/image-previews.ts";
import { inspectImage } from "../media/images.ts";

// A sticker's image on disk: DATA_DIR/media/stickers/<sha256>.<ext>, and for an animated one
// its first frame beside it as <sha256>.still.webp. Named by content, so packs that hold the
// same image share one file, and the URL is a capability nobody can guess.

/** The image types a sticker may be: the ones with transparency (JPEG has none). */
export const stickerMediaTypes = ["image/png", "image/gif", "image/webp"] as const;

/** A sticker's image limits. */
export const stickerLimits = { maxBytes: 512 * 1024, maxWidth: 512, maxHeight: 512 } as const;

const extensions: Readonly<Record<string, string>> = { "image/png": "png", "image/gif": "gif", "image/webp": "webp" };

/** What {@link prepareStickerImage} learnt and made. */
export interface StickerImage {
  readonly bytes: Uint8Array;
  readonly hash: string;
  readonly mediaType: (typeof stickerMediaTypes)[number];
  readonly width: number;
  readonly height: number;
  /** The first frame of an animated image, or null. */
  readonly still: Uint8Array | null;
}

/**
 * Checks a sticker image from its bytes (type, size and dimensions from the header before
 * anything decodes, then libvips decodes it: a file that only looks like an image is refused)
 * and makes the still of an animated one.
 * @throws {AppError} `payload_too_large` past 512 KiB, `unsupported_media_type` for anything
 *   but PNG, GIF and WebP or for bytes that do not decode, `validation_failed` past 512×512.
 */
export async function prepareStickerImage(bytes: Uint8Array): Promise<StickerImage> {
  const image = await inspectImage(bytes, stickerLimits);
  if (!(stickerMediaTypes as readonly string[]).includes(image.mediaType)) {
    throw new AppError("unsupported_media_type", "A sticker is a PNG, GIF or WebP image.", {
      details: { detected: image.mediaType, accepted: stickerMediaTypes },
    });
  }
  const animated = await isAnimated(bytes);
  // Decoding the first frame proves the pixels are there, animated or not.
  const still = await makeStill(bytes);
  return {
    bytes,
    hash: createHash("sha256").update(bytes).digest("hex"),
    mediaType: image.mediaType as StickerImage["mediaType"],
    width: image.width,
    height: image.height,
    still: animated ? still : null,
  };
}

function stickersDir(deps: Pick<Deps, "config">): string {
  return join(deps.config.dataDir, "media", "stickers");
}

/** The file name of a sticker's image (or of its still). */
export function stickerFileName(sticker: { hash: string; mediaType: string }, still = false): string {
  return still ? `${sticker.hash}.still.webp` : `${sticker.hash}.${extensions[sticker.mediaType] ?? "bin"}`;
}

/** The pattern of every file name {@link stickerFileName} makes. */
export const stickerFilePattern = /^[0-9a-f]{64}\.(png|gif|webp|still\.webp)$/;

/** Writes a sticker's image (and its still) unless it is there already. */
export async function placeStickerImage(deps: Pick<Deps, "config">, image: StickerImage): Promise<void> {
  await place(join(stickersDir(deps), stickerFileName(image)), image.bytes);
  if (image.still) await place(join(stickersDir(deps), stickerFileName(image, true)), image.still);
}

/** Removes a sticker's image and its still (the caller checked that no sticker uses them). */
export async function removeStickerImage(
  deps: Pick<Deps, "config">,
  sticker: { hash: string; mediaType: string },
): Promise<void> {
  await unlink(join(stickersDir(deps), stickerFileName(sticker))).catch(() => {});
  await unlink(join(stickersDir(deps), stickerFileName(sticker, true))).catch(() => {});
}

/**
 * Reads a sticker's file by its name.
 * @throws {AppError} `not_found`.
 */
export async function readStickerFile(
  deps: Pick<Deps, "config">,
  name: string,
): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const match = stickerFilePattern.exec(name);
  if (match == null) throw new AppError("not_found", "No such sticker image.");
  const bytes = await readFile(join(stickersDir(deps), name)).catch(() => {
    throw new AppError("not_found", "No such sticker image.");
  });
  const extension = match[1] === "still.webp" ? "webp" : match[1];
  return { bytes, mediaType: `image/${extension === "png" ? "png" : extension}` };
}
