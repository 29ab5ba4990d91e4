import { createHmac, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { eq } from "drizzle-orm";
import { type Attachment, attachments, messages } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { accessRoom } from "../rooms/rooms.ts";
import {
  type AttachmentView,
  attachmentPath,
  fetchRemote,
  previewPath,
  stillPath,
  urlLifetimeSeconds,
} from "./attachments.ts";
import { avatarMediaTypes } from "./images.ts";

// Serving attachments: signed URLs, the views that carry them, downloads, and remote files
// fetched on first open.

type Variant = "file" | "preview" | "still" | "federated";

function signature(deps: Pick<Deps, "urlKey">, variant: Variant, id: string, expires: number): string {
  return createHmac("sha256", deps.urlKey).update(`${variant}:${id}:${expires}`).digest("base64url");
}

/** When URLs signed now expire, in Unix seconds: rounded so that views made together share URLs. */
function expiry(now = Date.now()): number {
  const quarter = 15 * 60;
  return Math.ceil((now / 1000 + urlLifetimeSeconds) / quarter) * quarter;
}

/**
 * A signed download URL of an attachment or its preview.
 * @param expires Unix seconds; by default a few hours from now.
 */
export function signedUrl(
  deps: Pick<Deps, "config" | "urlKey">,
  variant: "file" | "preview" | "still",
  id: string,
  expires = expiry(),
): string {
  const path = variant === "file" ? `/media/attachments/${id}` : `/media/attachments/${id}/${variant}`;
  return `${deps.config.origin}${path}?expires=${expires}&signature=${signature(deps, variant, id, expires)}`;
}

/**
 * The URL a sent attachment has in its federated `Note`: it does not expire, because the
 * servers of the room's members fetch it whenever their users first open it. It is a
 * capability (only those the `Note` reached know it) and dies with the message.
 */
export function federatedUrl(deps: Pick<Deps, "config" | "urlKey">, id: string): string {
  return `${deps.config.origin}/media/attachments/${id}?signature=${signature(deps, "federated", id, 0)}`;
}

/** Whether a remote file's preview can be asked for: it is, or claims to be, a raster image we preview. */
function previewable(row: Attachment): boolean {
  if (row.hash != null) return row.preview;
  return row.remoteError == null && (avatarMediaTypes as readonly string[]).includes(row.mediaType);
}

/** Serialises attachments with freshly signed URLs. */
export function attachmentView(deps: Pick<Deps, "config" | "urlKey">, row: Attachment): AttachmentView {
  const expires = expiry();
  return {
    id: row.id,
    name: row.name,
    mediaType: row.mediaType,
    ...(row.size != null ? { size: row.size } : {}),
    ...(row.width != null && row.height != null ? { width: row.width, height: row.height } : {}),
    url: signedUrl(deps, "file", row.id, expires),
    ...(previewable(row) ? { previewUrl: signedUrl(deps, "preview", row.id, expires) } : {}),
    ...(row.animated && row.hash != null ? { stillUrl: signedUrl(deps, "still", row.id, expires) } : {}),
    ...(row.sticker ? { sticker: true as const } : {}),
  };
}

/**
 * One attachment for a caller who may see it: its uploader, or a member of the room of the
 * message that carries it. Used to get fresh URLs once old ones expired.
 * @throws {AppError} `attachment_not_found` (also for attachments the caller may not see).
 */
export async function getAttachment(deps: Deps, actorId: string, id: string): Promise<Attachment> {
  const [row] = await deps.db
    .select({ attachment: attachments, roomId: messages.roomId })
    .from(attachments)
    .leftJoin(messages, eq(messages.id, attachments.messageId))
    .where(eq(attachments.id, id));
  const missing = new AppError("attachment_not_found", "No such attachment.");
  if (row == null) throw missing;
  if (row.roomId == null) {
    if (row.attachment.ownerId !== actorId) throw missing;
    return row.attachment;
  }
  try {
    await accessRoom(deps, row.roomId, actorId);
  } catch (error) {
    if (error instanceof AppError) throw missing;
    throw error;
  }
  return row.attachment;
}

/** What a download answers with. */
export interface Download {
  readonly attachment: Attachment;
  readonly body: ReadableStream<Uint8Array>;
  readonly mediaType: string;
  readonly size: number;
  /** Unix seconds when the URL stops working; null for a federated URL, which does not expire. */
  readonly expires: number | null;
}

/**
 * Opens an attachment (or its preview, or an animation's still) for a signed URL: an expiring one (our users), or a
 * sent attachment's {@link federatedUrl} (other servers; `expires` absent). A remote message's
 * file is fetched the first time, checked like an upload, and kept.
 * @throws {AppError} `forbidden` for a wrong signature, `link_expired`, `attachment_not_found`,
 *   and for a remote file `remote_unreachable` or `remote_media_refused`.
 */
export async function openDownload(
  deps: Deps,
  variant: "file" | "preview" | "still",
  id: string,
  expires: number | undefined,
  given: string,
): Promise<Download> {
  const federated = expires == null;
  const expected = Buffer.from(federated ? signature(deps, "federated", id, 0) : signature(deps, variant, id, expires));
  const actual = Buffer.from(given);
  if ((federated && variant !== "file") || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new AppError("forbidden", "This link is not valid.");
  }
  if (!federated && expires * 1000 <= Date.now()) throw new AppError("link_expired", "This link has expired.");
  const missing = new AppError("attachment_not_found", "No such attachment.");
  let [row] = await deps.db.select().from(attachments).where(eq(attachments.id, id));
  if (row == null) throw missing;
  // Other servers get our users' sent files, never drafts or what we fetched from elsewhere.
  if (federated && (row.remoteUrl != null || (row.messageId == null && row.outboundId == null))) throw missing;
  if (row.hash == null) row = await fetchRemote(deps, row);
  if (variant === "preview" && !row.preview) throw missing;
  if (variant === "still" && !row.animated) throw missing;
  const hash = row.hash as string;
  const path =
    variant === "file"
      ? attachmentPath(deps, hash)
      : variant === "preview"
        ? previewPath(deps, hash)
        : stillPath(deps, hash);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new AppError("attachment_not_found", "The attachment's file is missing.");
  }
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return {
    attachment: row,
    body,
    mediaType: variant === "file" ? row.mediaType : "image/webp",
    size,
    expires: expires ?? null,
  };
}
