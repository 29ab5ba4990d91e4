import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { storeAttachment } from "../media/attachments.ts";
import { deleteUpload } from "../media/carried.ts";
import { sendMessage } from "../messages/send.ts";
import type { MessageView } from "../messages/views.ts";
import { stickerFileName } from "./files.ts";
import { usableSticker, type Viewer } from "./packs.ts";

/**
 * Sends a sticker to a room: an ordinary message with no text and exactly one image
 * attachment, stored through the attachment machinery (the same checks, preview, animated
 * preview and still, quota and content-addressed file) and marked as a sticker. The message
 * then owes nothing to the pack: deleting the sticker later leaves it as it is, and other
 * servers get a `Note` with one `Image` named after the sticker (its alt text).
 * Idempotent per transaction id like any send; a retry stores nothing new.
 * @throws {AppError} `sticker_not_found` (also another user's sticker), and what
 *   `sendMessage` and `storeAttachment` throw (`room_not_found`, `not_a_member`, `quota_exceeded`…).
 */
export async function sendSticker(
  deps: Deps,
  viewer: Viewer,
  roomId: string,
  input: { txnId: string; stickerId: string; replyTo?: string | undefined; threadRootId?: string | undefined },
): Promise<{ message: MessageView; created: boolean }> {
  const sticker = await usableSticker(deps, viewer, input.stickerId);
  const bytes = await readFile(join(deps.config.dataDir, "media", "stickers", stickerFileName(sticker))).catch(
    (cause: unknown) => {
      throw new AppError("sticker_not_found", "The sticker's image is missing.", { cause });
    },
  );
  const upload = await storeAttachment(deps, viewer.id, {
    name: sticker.name,
    type: sticker.mediaType,
    bytes: new Uint8Array(bytes),
    sticker: true,
  });
  let sent: { message: MessageView; created: boolean };
  try {
    sent = await sendMessage(deps, viewer.id, roomId, {
      txnId: input.txnId,
      content: "",
      attachments: [upload.id],
      replyTo: input.replyTo,
      threadRootId: input.threadRootId,
    });
  } catch (error) {
    await deleteUpload(deps, viewer.id, upload.id).catch(() => {});
    throw error;
  }
  // A retry answered with the first message: this copy is not needed.
  if (!sent.created) await deleteUpload(deps, viewer.id, upload.id).catch(() => {});
  return sent;
}
