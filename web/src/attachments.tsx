/**
 * Attachments: uploads from the composer (button, drop, paste) with progress and a removable
 * chip each, and their display in messages (image previews that open the full image, other
 * files as download links). Download URLs are signed and expire after a few hours; an expired
 * or failing one is replaced by a fresh one from `GET /attachments/:id`.
 */
import type { Signal } from "@preact/signals";
import { useRef, useState } from "preact/hooks";
import { ApiError, api, type Upload, upload } from "./api.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { MotionImage } from "./motion.tsx";
import { isolate, Name, plain } from "./names.tsx";
import { trackUpload } from "./outbox.ts";
import { roomState, say } from "./store.ts";
import type { Attachment, Message } from "./types.ts";
import { Dialog } from "./ui.tsx";
import { UploadThumb } from "./upload-preview.tsx";

/** A message carries at most this many attachments (the server's limit). */
export const maxAttachments = 10;

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  progress: number;
  state: "uploading" | "done" | "failed";
  error?: string;
  attachment?: Attachment;
  upload?: Upload<Attachment>;
  /** The file itself, until it is uploaded. */
  file?: File;
  /** Failed for want of the server (offline, 5xx): the outbox can take it and upload it later. */
  offline?: boolean;
}

/** "1.2 MB", "340 KB", "12 bytes". */
export function formatSize(bytes: number | undefined): string {
  // A file on another server that nobody here opened yet has no known size.
  if (bytes == null) return "";
  if (bytes < 1000) return `${bytes} byte${bytes === 1 ? "" : "s"}`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Why an upload was refused, by the problem's code. */
function uploadError(error: unknown): string {
  if (!(error instanceof ApiError)) return "The upload failed.";
  switch (error.code) {
    case "quota_exceeded":
      return "Your storage is full: delete some files and try again.";
    case "payload_too_large":
      return "This file is too large.";
    case "media_type_mismatch":
      return "The file's contents do not match its name.";
    case "invalid_filename":
      return "This file name is not allowed.";
    case "rate_limited":
      return "Too many uploads: wait a moment and try again.";
    case "aborted":
      return "Cancelled.";
    default:
      return describeError(error);
  }
}

/** Starts uploading files into the composer's list (within the per-message limit). */
export function addFiles(items: Signal<UploadItem[]>, files: Iterable<File>): void {
  for (const file of files) {
    if (items.peek().filter((i) => i.state !== "failed").length >= maxAttachments) {
      say(`A message carries at most ${maxAttachments} files.`, true);
      return;
    }
    const key = crypto.randomUUID();
    const set = (change: Partial<UploadItem>) => {
      items.value = items.peek().map((i) => (i.key === key ? { ...i, ...change } : i));
    };
    const running = upload<Attachment>("/attachments", file, (progress) => set({ progress }));
    trackUpload(running.done);
    items.value = [
      ...items.peek(),
      { key, name: file.name || "file", size: file.size, progress: 0, state: "uploading", upload: running, file },
    ];
    running.done.then(
      (attachment) => set({ state: "done", progress: 1, attachment, upload: undefined, file: undefined }),
      (error) => {
        if (error instanceof ApiError && error.code === "aborted") return;
        const offline = error instanceof ApiError && (error.code === "network" || error.status >= 500);
        const why = uploadError(error);
        set({
          state: "failed",
          error: offline ? `${why} It goes with the message later.` : why,
          upload: undefined,
          offline,
        });
      },
    );
  }
}

/** Removes a chip: stops its upload, or deletes the unsent upload so it counts no more. */
export function removeUpload(items: Signal<UploadItem[]>, item: UploadItem): void {
  item.upload?.abort();
  items.value = items.peek().filter((i) => i.key !== item.key);
  if (item.attachment) void api("DELETE", `/attachments/${item.attachment.id}`).catch(() => {});
}

/** The chips of the composer's uploads. */
export function UploadChips(props: { items: Signal<UploadItem[]> }) {
  const list = props.items.value;
  if (list.length === 0) return null;
  return (
    <ul class="upload-chips" aria-label="Files to send">
      {list.map((item) => (
        <li key={item.key} class={`upload-chip ${item.state}`}>
          <UploadThumb item={item} />
          <span class="upload-name" title={isolate(item.attachment?.name ?? item.name)}>
            {/* Once uploaded, the name as the server keeps it (without its bidi controls). */}
            <Name text={item.attachment?.name ?? item.name} />
          </span>
          <span class="muted small">
            {item.state === "uploading"
              ? `${Math.round(item.progress * 100)} %`
              : item.state === "done"
                ? formatSize(item.size)
                : null}
          </span>
          {item.state === "uploading" ? (
            <progress max={1} value={item.progress} aria-label={`Uploading ${item.name}`} />
          ) : null}
          {item.state === "failed" ? (
            <span class="upload-error" role="alert">
              {item.error}
            </span>
          ) : null}
          <button
            type="button"
            class="icon-button small"
            aria-label={`Remove ${item.name}`}
            title="Remove"
            onClick={() => removeUpload(props.items, item)}
          >
            <Icon name="close" size={12} />
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Whether a signed URL has expired or will within a minute (`expires` is in Unix seconds). */
function expired(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const expires = Number(new URL(url, location.href).searchParams.get("expires"));
    return Number.isFinite(expires) && expires > 0 && expires * 1000 < Date.now() + 60_000;
  } catch {
    return false;
  }
}

/** Asks for fresh signed URLs and puts them into the message, so every view gets them. */
async function refreshAttachment(message: Message, attachment: Attachment): Promise<Attachment | null> {
  try {
    const fresh = await api<Attachment>("GET", `/attachments/${attachment.id}`);
    roomState(message.roomId).patch(message.id, (m) => ({
      ...m,
      attachments: m.attachments.map((a) => (a.id === fresh.id ? fresh : a)),
    }));
    return fresh;
  } catch (error) {
    say(describeError(error), true);
    return null;
  }
}

const inlineImage = /^image\/(png|jpeg|gif|webp)$/;

/** A message's attachments: images as previews, other files as download links. */
export function AttachmentList(props: { message: Message }) {
  const { message } = props;
  const [open, setOpen] = useState<Attachment | null>(null);
  // Attachments whose image failed once: asked again for fresh URLs, and the image remounted
  // (a fresh URL may equal the old one, as expiry is rounded, and the browser would not retry).
  const asked = useRef(new Set<string>());
  const [renewed, setRenewed] = useState<Record<string, boolean>>({});
  // Images that failed again with fresh URLs (a remote file that could not be fetched).
  const [broken, setBroken] = useState<Record<string, boolean>>({});
  if (message.attachments.length === 0) return null;
  const images = message.attachments.filter((a) => inlineImage.test(a.mediaType));
  const files = message.attachments.filter((a) => !inlineImage.test(a.mediaType));
  const viewing = open ? (message.attachments.find((a) => a.id === open.id) ?? open) : null;
  return (
    <div class="attachments">
      {images.length > 0 ? (
        <ul class="attachment-images" aria-label="Images">
          {images.map((a) => {
            const scale = a.width && a.height ? Math.min(1, 320 / a.width, 240 / a.height) : 1;
            return (
              <li key={a.id}>
                <button
                  type="button"
                  class="attachment-image"
                  aria-label={`Open image ${a.name}`}
                  onClick={async () => {
                    setOpen(expired(a.url) ? ((await refreshAttachment(message, a)) ?? a) : a);
                  }}
                >
                  {broken[a.id] ? (
                    <span class="attachment-broken muted small">
                      <Name text={a.name} />: the image could not be loaded
                    </span>
                  ) : (
                    <MotionImage
                      key={renewed[a.id] ? "renewed" : "first"}
                      src={a.previewUrl ?? a.url}
                      still={a.stillUrl}
                      alt={plain(a.name)}
                      loading="lazy"
                      width={a.width ? Math.round(a.width * scale) : undefined}
                      height={a.height ? Math.round(a.height * scale) : undefined}
                      onError={() => {
                        // Most likely an expired link: fetch fresh ones, once per attachment.
                        if (asked.current.has(a.id)) {
                          setBroken((b) => ({ ...b, [a.id]: true }));
                          return;
                        }
                        asked.current.add(a.id);
                        void refreshAttachment(message, a).then(() => setRenewed((r) => ({ ...r, [a.id]: true })));
                      }}
                    />
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      {files.length > 0 ? (
        <ul class="attachment-files" aria-label="Files">
          {files.map((a) => (
            <li key={a.id}>
              <a
                class="attachment-file"
                href={a.url}
                download={plain(a.name)}
                onClick={async (e) => {
                  if (!expired(a.url)) return;
                  e.preventDefault();
                  const fresh = await refreshAttachment(message, a);
                  if (fresh) location.assign(fresh.url);
                }}
              >
                <Icon name="file" size={18} />
                <Name class="attachment-name" text={a.name} />
                <span class="muted small">{formatSize(a.size)}</span>
              </a>
            </li>
          ))}
        </ul>
      ) : null}
      {viewing ? (
        <Dialog title={<Name text={viewing.name} />} onClose={() => setOpen(null)} wide>
          <MotionImage class="attachment-full" src={viewing.url} still={viewing.stillUrl} alt={plain(viewing.name)} />
          <p>
            <a href={viewing.url} download={plain(viewing.name)}>
              Download
            </a>{" "}
            <span class="muted small">{formatSize(viewing.size)}</span>
          </p>
        </Dialog>
      ) : null}
    </div>
  );
}
