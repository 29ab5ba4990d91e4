/**
 * Previews of files before they are sent: a thumbnail in each upload chip (from the local file
 * through an object URL, revoked when the chip goes; from the server's preview once the file
 * came back from a draft after a reload), and the "Drop files here" overlay over a room.
 */
import { useEffect, useState } from "preact/hooks";
import type { UploadItem } from "./attachments.tsx";
import { Icon } from "./icons.tsx";
import type { Attachment } from "./types.ts";

/** Images the browser shows and that get a thumbnail. */
const thumbnailTypes = /^image\/(?:png|jpeg|gif|webp|avif)$/;

/** The chip's picture: a thumbnail of an image, a file icon otherwise. */
export function UploadThumb(props: { item: UploadItem }) {
  return <FileThumb blob={props.item.file} attachment={props.item.attachment} size={14} />;
}

/**
 * A thumbnail of an image file, from its local copy (a File, or a Blob the outbox kept in
 * IndexedDB) or else from the server's copy; a file icon for anything else.
 */
export function FileThumb(props: { blob?: Blob | undefined; attachment?: Attachment | undefined; size: number }) {
  // Made once, from the blob the component started with (an upload chip forgets its file once
  // uploaded, and keeps showing it), and revoked when the component goes.
  const [local, setLocal] = useState<string | null>(null);
  useEffect(() => {
    const blob = props.blob;
    if (blob == null || !thumbnailTypes.test(blob.type)) return;
    const url = URL.createObjectURL(blob);
    setLocal(url);
    return () => URL.revokeObjectURL(url);
  }, []);
  const { attachment } = props;
  const remote =
    attachment != null && thumbnailTypes.test(attachment.mediaType) ? (attachment.previewUrl ?? attachment.url) : null;
  const src = local ?? remote;
  // The name is always shown beside it: the picture is decoration.
  return src ? <img class="file-thumb" src={src} alt="" /> : <Icon name="file" size={props.size} />;
}

/** Shown over the room while files are dragged over it. */
export function DropOverlay() {
  return (
    <div class="drop-overlay" aria-hidden="true">
      <div class="drop-overlay-box">
        <Icon name="clip" size={28} />
        <span>Drop files here</span>
      </div>
    </div>
  );
}
