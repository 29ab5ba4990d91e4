import { and, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { type Attachment, attachments, messages, outboundMessages } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { maxAttachmentsPerMessage, removeUnreferencedFiles, sanitizeFileName } from "./attachments.ts";

// Which message carries which upload: taking uploads for a send, reserving them for a send to
// another server, a remote message's files, the drafts left, and letting go on delete.

/** An upload no message carries and no send reserves: its owner's draft. */
const unsent = and(isNull(attachments.messageId), isNull(attachments.outboundId));

/**
 * Reserves uploads for a send to a room on another server (its outbound message): the sender's
 * own uploads that no message has taken yet. {@link claimOutbound} hands them to the message
 * when it comes back. A send to a room here takes its uploads in the batch that writes it
 * (send-batch.ts).
 * @throws {AppError} `validation_failed` naming the ids that are not such uploads.
 */
export async function reserveForOutbound(
  tx: DatabaseLike,
  ownerId: string,
  outboundId: string,
  ids: readonly string[],
): Promise<Attachment[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const rows = await tx
    .update(attachments)
    .set({ outboundId })
    .where(and(inArray(attachments.id, unique), eq(attachments.ownerId, ownerId), unsent))
    .returning();
  if (rows.length !== unique.length) {
    const taken = new Set(rows.map((r) => r.id));
    throw attachmentsRefused(
      unique.flatMap((id) =>
        taken.has(id) ? [] : [{ path: `attachments.${ids.indexOf(id)}`, message: "not an unsent upload of yours" }],
      ),
    );
  }
  // In the order the sender listed them.
  return unique.flatMap((id) => rows.filter((r) => r.id === id));
}

/** The error for attachments that are not the sender's free uploads (which ones, when known). */
export function attachmentsRefused(
  details: { path: string; message: string }[] = [{ path: "attachments", message: "not unsent uploads of yours" }],
): AppError {
  return new AppError("validation_failed", "Some attachments are not uploads of yours that are free to send.", {
    details,
  });
}

/**
 * The uploads of `ownerId` among `ids`, in the order listed, whether or not a message has
 * taken them (the send that takes them checks that, under lock: see send-batch.ts).
 */
export async function uploadsOf(db: DatabaseLike, ownerId: string, ids: readonly string[]): Promise<Attachment[]> {
  const rows = await db
    .select()
    .from(attachments)
    .where(and(inArray(attachments.id, [...ids]), eq(attachments.ownerId, ownerId)));
  return ids.flatMap((id) => rows.filter((r) => r.id === id));
}

/** Hands the uploads reserved by an outbound message to the message it became (the same id). */
export async function claimOutbound(tx: DatabaseLike, messageId: string): Promise<Attachment[]> {
  return await tx
    .update(attachments)
    .set({ messageId, outboundId: null })
    .where(eq(attachments.outboundId, messageId))
    .returning();
}

/** The uploads an outbound message reserved, in upload order. */
export async function outboundAttachments(db: DatabaseLike, outboundId: string): Promise<Attachment[]> {
  return await db.select().from(attachments).where(eq(attachments.outboundId, outboundId)).orderBy(attachments.id);
}

/** An attachment of a message from another server, as its `Note` describes it. */
export interface RemoteAttachment {
  readonly url: string;
  /** Tidied for display; see {@link remoteFileName}. */
  readonly name: string;
  /** What the remote server declares; replaced by what the bytes say once fetched. */
  readonly mediaType: string;
  readonly width: number | null;
  readonly height: number | null;
}

/**
 * A display name for a remote file: the `Note`'s `name` for it (Mastodon puts the alt text
 * there, Pleroma the file name), else the `?name=` or last path segment of its URL. Path
 * separators and controls are replaced, never trusted: the name is only ever shown.
 */
export function remoteFileName(name: string | null | undefined, url: string): string {
  let fromUrl = "";
  try {
    const parsed = new URL(url);
    fromUrl = parsed.searchParams.get("name") ?? decodeURIComponent(parsed.pathname.split("/").pop() ?? "");
  } catch {
    fromUrl = "";
  }
  for (const candidate of [name, fromUrl, "attachment"]) {
    const tidy = (candidate ?? "").replace(/[/\\]/g, "_").replace(/^\.+$/, "");
    try {
      return sanitizeFileName(tidy);
    } catch {}
  }
  return "attachment";
}

/** Records a remote message's attachments (not fetched: that happens when someone opens one). */
export async function addRemoteAttachments(
  tx: DatabaseLike,
  ownerId: string,
  messageId: string,
  files: readonly RemoteAttachment[],
): Promise<Attachment[]> {
  if (files.length === 0) return [];
  return await tx
    .insert(attachments)
    .values(
      files.slice(0, maxAttachmentsPerMessage).map((file) => ({
        id: uuidv7(),
        ownerId,
        messageId,
        hash: null,
        name: file.name,
        mediaType: file.mediaType,
        size: null,
        width: file.width,
        height: file.height,
        remoteUrl: file.url,
      })),
    )
    .returning();
}

/** The actor's uploads that no message carries yet, oldest first, and the bytes their quota counts. */
export async function listUploads(deps: Deps, ownerId: string): Promise<{ uploads: Attachment[]; used: number }> {
  const uploads = await deps.db
    .select()
    .from(attachments)
    .where(and(eq(attachments.ownerId, ownerId), unsent))
    .orderBy(attachments.id);
  const [usage] = await deps.db
    .select({ used: sql<number>`coalesce(sum(${attachments.size}), 0)`.mapWith(Number) })
    .from(attachments)
    .where(eq(attachments.ownerId, ownerId));
  return { uploads, used: usage?.used ?? 0 };
}

/**
 * Deletes an upload of the actor's that no message carries (a draft given up), and its file
 * once nothing else refers to the bytes. A sent attachment goes with its message instead.
 * @throws {AppError} `attachment_not_found`.
 */
export async function deleteUpload(deps: Deps, ownerId: string, id: string): Promise<void> {
  const [row] = await deps.db
    .delete(attachments)
    .where(and(eq(attachments.id, id), eq(attachments.ownerId, ownerId), unsent))
    .returning({ hash: attachments.hash });
  if (row == null) throw new AppError("attachment_not_found", "No such unsent upload of yours.");
  await removeUnreferencedFiles(deps, [row.hash]);
}

/** The attachments of some messages, by message id, in upload order. */
export async function attachmentsOf(
  db: DatabaseLike,
  messageIds: readonly string[],
): Promise<Map<string, Attachment[]>> {
  const byMessage = new Map<string, Attachment[]>();
  if (messageIds.length === 0) return byMessage;
  const rows = await db
    .select()
    .from(attachments)
    .where(inArray(attachments.messageId, [...messageIds]))
    .orderBy(attachments.id);
  for (const row of rows) {
    if (row.messageId == null) continue;
    byMessage.set(row.messageId, [...(byMessage.get(row.messageId) ?? []), row]);
  }
  return byMessage;
}

/**
 * Deletes a message's attachment rows in the caller's transaction.
 * @returns The hashes they referred to: pass them to {@link removeUnreferencedFiles} after commit.
 */
export async function detachFromMessage(tx: DatabaseLike, messageId: string): Promise<string[]> {
  const rows = await tx
    .delete(attachments)
    .where(eq(attachments.messageId, messageId))
    .returning({ hash: attachments.hash });
  return hashesOf(rows);
}

function hashesOf(rows: readonly { hash: string | null }[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.hash ? [r.hash] : [])))];
}

/**
 * Deletes the attachment rows of a room's messages in the caller's transaction (the room is
 * being deleted).
 * @returns The hashes they referred to, for {@link removeUnreferencedFiles} after commit.
 */
export async function detachFromRoom(tx: DatabaseLike, roomId: string): Promise<string[]> {
  const rows = await tx
    .delete(attachments)
    .where(
      or(
        inArray(
          attachments.messageId,
          tx.select({ id: messages.id }).from(messages).where(eq(messages.roomId, roomId)),
        ),
        inArray(
          attachments.outboundId,
          tx.select({ id: outboundMessages.id }).from(outboundMessages).where(eq(outboundMessages.roomId, roomId)),
        ),
      ),
    )
    .returning({ hash: attachments.hash });
  return hashesOf(rows);
}
