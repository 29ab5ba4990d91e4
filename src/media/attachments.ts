import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq, isNull, sql } from "drizzle-orm";
import { fileTypeFromBuffer } from "file-type";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { type Attachment, actors, attachments } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeInvisibles } from "../text.ts";
import { imageLimits, isAnimated, makePreview, makeStill } from "./image-previews.ts";
import { avatarMediaTypes, inspectImage, scrubImage } from "./images.ts";
import { fetchRemoteMedia, remoteMediaLimits } from "./remote.ts";

/** A message carries at most this many attachments. */
export const maxAttachmentsPerMessage = 10;

/** Download URLs are valid for at least this long (then rounded up to a quarter hour). */
export const urlLifetimeSeconds = 4 * 60 * 60;

/** An attachment as messages and the upload answer show it. */
export interface AttachmentView {
  readonly id: string;
  readonly name: string;
  readonly mediaType: string;
  /** Absent for a remote file not fetched yet. */
  readonly size?: number;
  readonly width?: number;
  readonly height?: number;
  /** A signed download URL that expires. */
  readonly url: string;
  readonly previewUrl?: string;
  /** An animated image: `previewUrl` animates, and this is its first frame (for reduced motion). */
  readonly stillUrl?: string;
  /** Sent as a sticker: shown large, without a bubble. */
  readonly sticker?: true;
}

// Served inline (shown in the page): raster images, audio and video, which browsers render
// without running anything. Everything else (SVG, HTML, PDF, archives, text) is a download.
const inlineTypes = new Set([
  ...avatarMediaTypes,
  "image/avif",
  "audio/mpeg",
  "audio/ogg",
  "audio/wav",
  "audio/webm",
  "audio/flac",
  "audio/aac",
  "video/mp4",
  "video/webm",
  "video/ogg",
]);

// What a name's extension promises. A file whose bytes say otherwise (an HTML page called
// photo.jpg) is refused rather than stored under a misleading name.
const extensionTypes: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jfif: "image/jpeg",
  png: "image/png",
  apng: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  webm: "video/webm",
};

const rasterTypes = new Set([
  "image/jpeg",
  "image/jpg",
  "image/pjpeg",
  "image/png",
  "image/apng",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "image/tiff",
]);

function mediaDir(deps: Pick<Deps, "config">, ...parts: string[]): string {
  return join(deps.config.dataDir, "media", ...parts);
}

/** Where the bytes with this SHA-256 live. */
export function attachmentPath(deps: Pick<Deps, "config">, hash: string): string {
  return mediaDir(deps, "attachments", hash.slice(0, 2), hash);
}

/** Where the preview of the bytes with this SHA-256 lives. */
export function previewPath(deps: Pick<Deps, "config">, hash: string): string {
  return mediaDir(deps, "previews", `${hash}.webp`);
}

/**
 * Where the still (first frame) of an animated image's bytes with this SHA-256 lives: what
 * clients show to people who ask for reduced motion.
 */
export function stillPath(deps: Pick<Deps, "config">, hash: string): string {
  return mediaDir(deps, "previews", `${hash}.still.webp`);
}

/**
 * Checks and tidies an uploaded file's name for display and download. It is never a path: a
 * name with a path separator or `..` is refused outright (the client is either broken or
 * probing), control, format and bidi characters are removed (see `removeInvisibles`), and the
 * name is cut to 200 characters keeping its extension.
 * @throws {AppError} `invalid_filename`.
 */
export function sanitizeFileName(raw: string): string {
  const refuse = (why: string) =>
    new AppError("invalid_filename", `The file name ${why}.`, { details: [{ path: "file", message: why }] });
  if (/[/\\]/.test(raw) || raw.split(/[/\\]/).includes("..")) throw refuse("must not contain a path");
  if (raw.includes("\u0000") || !raw.isWellFormed()) throw refuse("is not valid text");
  // Controls and line breaks go, and so does whatever shows nothing but changes what is
  // shown: bidi controls (which make "exe.png" of "gnp.exe") and every other format character.
  const name = removeInvisibles(raw.normalize("NFC").replace(/[\p{Cc}\u2028\u2029]/gu, "")).trim();
  if (name === "" || name === "." || name === "..") throw refuse("is empty");
  const chars = [...name];
  if (chars.length <= 200) return name;
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  return chars.slice(0, 200 - [...extension].length).join("") + extension;
}

/**
 * An RFC 6266 `Content-Disposition`: an ASCII `filename` for old clients and the exact name in
 * `filename*` (RFC 8187, UTF-8, percent-encoded).
 */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Whether a stored type is shown in the page; everything else is only downloaded. */
export function servedInline(mediaType: string): boolean {
  return inlineTypes.has(mediaType);
}

function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 64 * 1024);
  if (head.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The media type of some bytes, from the bytes only, and whether it agrees with the name and the declared type. */
async function recognise(bytes: Uint8Array, name: string, declared: string): Promise<string> {
  let sniffed: string | undefined;
  try {
    sniffed = (await fileTypeFromBuffer(bytes))?.mime;
  } catch {
    sniffed = undefined;
  }
  if (sniffed === "image/apng") sniffed = "image/png";
  const mediaType = sniffed ?? (looksLikeText(bytes) ? "text/plain" : "application/octet-stream");
  const extension = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase();
  const promised = extension ? extensionTypes[extension] : undefined;
  // A declared raster image type must at least be an image; other declared types (SVG, Office
  // documents, whatever the browser guessed) are only advice and are not compared.
  const declaredType = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  const claimsImage = rasterTypes.has(declaredType);
  if ((promised && promised !== mediaType) || (claimsImage && !mediaType.startsWith("image/"))) {
    throw new AppError(
      "media_type_mismatch",
      `The file is called "${name}" but its bytes are ${mediaType}; rename it or send the right file.`,
      { details: { detected: mediaType, expected: promised ?? declared } },
    );
  }
  return mediaType;
}

interface Prepared {
  /** What is stored: the upload, or a JPEG without its metadata. */
  readonly bytes: Uint8Array;
  readonly hash: string;
  readonly mediaType: string;
  readonly width: number | null;
  readonly height: number | null;
  readonly preview: Uint8Array | null;
  /** The first frame of an animated image; null for a still one. */
  readonly still: Uint8Array | null;
}

/**
 * Recognises the file, checks images' dimensions from the header, then takes the metadata out
 * of JPEGs (a phone's photo carries where it was taken) and makes a preview.
 */
async function prepare(deps: Deps, bytes: Uint8Array, name: string, declared: string): Promise<Prepared> {
  if (bytes.length > deps.config.attachmentMaxBytes) {
    throw new AppError("payload_too_large", `The file is larger than ${deps.config.attachmentMaxBytes} bytes.`, {
      details: { size: bytes.length, maxBytes: deps.config.attachmentMaxBytes },
    });
  }
  if (bytes.length === 0) throw new AppError("validation_failed", "The file is empty.");
  const mediaType = await recognise(bytes, name, declared);
  const hashOf = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
  if (!(avatarMediaTypes as readonly string[]).includes(mediaType)) {
    return { bytes, hash: hashOf(bytes), mediaType, width: null, height: null, preview: null, still: null };
  }
  // The header says how big the image is; nothing is decoded before that passes.
  const image = await inspectImage(bytes, { maxBytes: deps.config.imageMaxBytes, ...imageLimits });
  const scrubbed = await scrubImage(bytes, image);
  const preview = await makePreview(scrubbed.bytes);
  const still = (await isAnimated(scrubbed.bytes)) ? await makeStill(scrubbed.bytes) : null;
  return {
    bytes: scrubbed.bytes,
    hash: hashOf(scrubbed.bytes),
    mediaType: image.mediaType,
    width: scrubbed.width,
    height: scrubbed.height,
    preview,
    still,
  };
}

/** Takes a per-hash lock until the transaction ends: storing and removing a file never interleave. */
async function lockHash(tx: DatabaseLike, hash: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`attachment:${hash}`}, 0))`);
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes bytes under a temporary name and renames them into place, unless the file is there already. */
export async function place(path: string, bytes: Uint8Array): Promise<void> {
  if (await exists(path)) return;
  await mkdir(join(path, ".."), { recursive: true });
  const temporary = `${path}.${randomUUID()}.part`;
  await writeFile(temporary, bytes, { mode: 0o644 });
  await rename(temporary, path);
}

/**
 * Stores an upload for its owner: the type from the bytes, images checked from the header and
 * given a preview, the bytes under their SHA-256, the quota checked under a lock on the owner.
 * Nothing is stored when anything is refused.
 * @param file The original name and the declared type (only compared with the bytes), and
 *   whether it is a sticker being sent (src/stickers).
 * @throws {AppError} `invalid_filename`, `payload_too_large`, `media_type_mismatch`,
 *   `unsupported_media_type`, `validation_failed`, `quota_exceeded`.
 */
export async function storeAttachment(
  deps: Deps,
  ownerId: string,
  file: { name: string; type: string; bytes: Uint8Array; sticker?: boolean },
): Promise<Attachment> {
  const name = sanitizeFileName(file.name);
  const prepared = await prepare(deps, file.bytes, name, file.type);
  return await deps.db.transaction(async (tx) => {
    // Concurrent uploads by one owner queue here, so the quota cannot be overrun by racing.
    await tx.select({ id: actors.id }).from(actors).where(eq(actors.id, ownerId)).for("update");
    const [usage] = await tx
      .select({ used: sql<number>`coalesce(sum(${attachments.size}), 0)`.mapWith(Number) })
      .from(attachments)
      .where(eq(attachments.ownerId, ownerId));
    const used = usage?.used ?? 0;
    if (used + prepared.bytes.length > deps.config.attachmentQuotaBytes) {
      throw new AppError("quota_exceeded", "This upload would take you over your storage quota.", {
        details: { used, size: prepared.bytes.length, quota: deps.config.attachmentQuotaBytes },
      });
    }
    await lockHash(tx, prepared.hash);
    const [row] = await tx
      .insert(attachments)
      .values({
        id: uuidv7(),
        ownerId,
        hash: prepared.hash,
        name,
        mediaType: prepared.mediaType,
        size: prepared.bytes.length,
        width: prepared.width,
        height: prepared.height,
        preview: prepared.preview != null,
        animated: prepared.still != null,
        sticker: file.sticker ?? false,
      })
      .returning();
    if (row == null) throw new Error("The attachment row was not written.");
    // Inside the transaction and the hash lock: a failure here stores nothing.
    await placePrepared(deps, prepared);
    return row;
  });
}

/** Writes a prepared file, its preview and its still into place. */
async function placePrepared(deps: Deps, prepared: Prepared): Promise<void> {
  await place(attachmentPath(deps, prepared.hash), prepared.bytes);
  if (prepared.preview) await place(previewPath(deps, prepared.hash), prepared.preview);
  if (prepared.still) await place(stillPath(deps, prepared.hash), prepared.still);
}

/**
 * Removes the stored files (and previews) of these hashes that no attachment row refers to any
 * more. Runs under the same per-hash lock as storing, so an upload of the same bytes racing
 * with this either keeps the file or writes it again.
 * @returns The hashes whose files were removed.
 */
export async function removeUnreferencedFiles(deps: Deps, hashes: readonly (string | null)[]): Promise<string[]> {
  const removed: string[] = [];
  for (const hash of hashes) {
    if (hash == null || !/^[0-9a-f]{64}$/.test(hash)) continue;
    await deps.db.transaction(async (tx) => {
      await lockHash(tx, hash);
      const [used] = await tx
        .select({ id: attachments.id })
        .from(attachments)
        .where(eq(attachments.hash, hash))
        .limit(1);
      if (used) return;
      await unlink(attachmentPath(deps, hash)).catch(() => {});
      await unlink(previewPath(deps, hash)).catch(() => {});
      await unlink(stillPath(deps, hash)).catch(() => {});
      removed.push(hash);
    });
  }
  return removed;
}

// Fetches of one remote file in this process share one request.
const fetching = new Map<string, Promise<Attachment>>();

// Refusals that fetching again would only repeat: the file itself is unacceptable, or where
// it lives is one we never fetch from. Unreachable servers and error statuses are tried again.
const permanentRefusals = new Set([
  "payload_too_large",
  "media_type_mismatch",
  "unsupported_media_type",
  "validation_failed",
]);
const permanentReasons = new Set(["scheme", "credentials", "private_address", "redirects"]);

function refusedRemote(code: string): AppError {
  return new AppError("remote_media_refused", "The file on the other server was refused.", {
    details: { reason: code },
  });
}

/**
 * Fetches a remote message's file within the upload limits, recognises it from its bytes
 * (a declared type or name that disagrees is refused, as for uploads), makes the preview and
 * stores it like an upload. A permanent refusal is recorded, so the file is not fetched again.
 */
export async function fetchRemote(deps: Deps, row: Attachment): Promise<Attachment> {
  if (row.remoteError) throw refusedRemote(row.remoteError);
  if (row.remoteUrl == null) throw new AppError("attachment_not_found", "No such attachment.");
  let running = fetching.get(row.id);
  if (running == null) {
    running = fetchAndKeep(deps, row, row.remoteUrl).finally(() => fetching.delete(row.id));
    fetching.set(row.id, running);
  }
  return await running;
}

async function fetchAndKeep(deps: Deps, row: Attachment, url: string): Promise<Attachment> {
  let bytes: Uint8Array;
  let prepared: Prepared;
  try {
    ({ bytes } = await fetchRemoteMedia(deps.config, url, {
      limits: { ...remoteMediaLimits, maxBytes: deps.config.attachmentMaxBytes },
    }));
    prepared = await prepare(deps, bytes, row.name, row.mediaType);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const reason = (error.details as { reason?: string } | undefined)?.reason;
    const code = error.code === "remote_unreachable" ? reason : error.code;
    if (code == null || !(permanentRefusals.has(code) || permanentReasons.has(code))) throw error;
    await deps.db.update(attachments).set({ remoteError: code }).where(eq(attachments.id, row.id));
    throw refusedRemote(code);
  }
  return await deps.db.transaction(async (tx) => {
    await lockHash(tx, prepared.hash);
    const [kept] = await tx
      .update(attachments)
      .set({
        hash: prepared.hash,
        mediaType: prepared.mediaType,
        size: prepared.bytes.length,
        width: prepared.width,
        height: prepared.height,
        preview: prepared.preview != null,
        animated: prepared.still != null,
      })
      .where(and(eq(attachments.id, row.id), isNull(attachments.hash)))
      .returning();
    if (kept == null) {
      // Deleted meanwhile, or kept by another process first.
      const [current] = await tx.select().from(attachments).where(eq(attachments.id, row.id));
      if (current?.hash == null) throw new AppError("attachment_not_found", "No such attachment.");
      return current;
    }
    await placePrepared(deps, prepared);
    return kept;
  });
}
