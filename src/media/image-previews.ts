/**
 * The previews of uploaded and fetched images: a WebP that fits in a square, animated when the
 * image is, and for an animation a still of its first frame.
 * @module
 */
import { AppError } from "../errors.ts";
import { libvips } from "./images.ts";

/** Images larger than this in either direction, or with more pixels, are refused before decoding. */
export const imageLimits = { maxWidth: 16384, maxHeight: 16384, maxPixels: 50_000_000 } as const;

/** Previews fit in a square of this many pixels. */
export const previewSize = 400;

/**
 * Whether an image has more than one frame (an animated GIF or WebP; libvips reads animated
 * PNGs as one frame). Reads the header only.
 */
export async function isAnimated(bytes: Uint8Array): Promise<boolean> {
  const sharp = await libvips();
  const metadata = await sharp(bytes, { limitInputPixels: imageLimits.maxPixels })
    .metadata()
    .catch(() => undefined);
  return (metadata?.pages ?? 1) > 1;
}

/**
 * The first frame of an image as a WebP that fits in {@link previewSize} pixels: the still
 * shown instead of an animation to people who prefer reduced motion.
 * @throws {AppError} `unsupported_media_type` when the pixels cannot be decoded.
 */
export async function makeStill(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    const sharp = await libvips();
    return await sharp(bytes, { limitInputPixels: imageLimits.maxPixels, failOn: "error", pages: 1 })
      .resize(previewSize, previewSize, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  } catch (cause) {
    throw new AppError("unsupported_media_type", "The image could not be decoded.", { cause });
  }
}

/**
 * The most pixels, over all its frames, of an animation whose preview stays animated: libvips
 * decodes every frame at once (64 MB at this size). A longer or larger one gets a preview of its
 * first frame, as any image did before previews kept animations.
 */
export const maxAnimatedPixels = 16_000_000;

/**
 * A WebP preview that fits in {@link previewSize} pixels, turned upright by its EXIF orientation.
 * An animated GIF or WebP keeps every frame and its timing (an animated WebP preview) when it
 * has at most {@link maxAnimatedPixels}: libvips reads only the first frame unless told
 * otherwise, which used to freeze them.
 * Only call it on an image whose header {@link inspectImage} passed: libvips is told the same
 * pixel limit as a second guard, and JPEGs are shrunk while they are decoded.
 * @throws {AppError} `unsupported_media_type` when the pixels cannot be decoded.
 */
export async function makePreview(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    const sharp = await libvips();
    const metadata = await sharp(bytes, { limitInputPixels: imageLimits.maxPixels }).metadata();
    const pages = metadata.pages ?? 1;
    const framePixels = (metadata.width ?? 0) * (metadata.pageHeight ?? metadata.height ?? 0);
    if (pages > 1 && pages * framePixels <= maxAnimatedPixels) {
      return await sharp(bytes, { limitInputPixels: maxAnimatedPixels, failOn: "error", animated: true })
        .resize(previewSize, previewSize, { fit: "inside", withoutEnlargement: true })
        .webp({ quality: 75 })
        .toBuffer();
    }
    return await sharp(bytes, { limitInputPixels: imageLimits.maxPixels, failOn: "error" })
      .rotate()
      .resize(previewSize, previewSize, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  } catch (cause) {
    throw new AppError("unsupported_media_type", "The image could not be decoded.", { cause });
  }
}
