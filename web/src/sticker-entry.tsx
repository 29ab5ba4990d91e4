/**
 * What the initial bundle holds of stickers: the composer's button, the page's loader and how a
 * sticker message shows. The picker and the packs page are chunks loaded on first use.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Icon } from "./icons.tsx";
import { MotionImage } from "./motion.tsx";
import { plain } from "./names.tsx";
import { say } from "./status.ts";
import type { Message } from "./types.ts";

type PickerProps = { roomId: string; onClose(): void; returnFocus?: () => HTMLElement | null | undefined };
let picker: Promise<ComponentType<PickerProps>> | null = null;

function loadPicker(): Promise<ComponentType<PickerProps>> {
  picker ??= import("./sticker-picker.tsx").then(
    (m) => m.StickerPicker,
    (error: unknown) => {
      picker = null;
      throw error;
    },
  );
  return picker;
}

/** The composer's sticker button: opens the picker, which sends the chosen sticker at once. */
export function StickerButton(props: { roomId: string; returnFocus?: () => HTMLElement | null | undefined }) {
  const [Picker, setPicker] = useState<ComponentType<PickerProps> | null>(null);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class="icon-button"
        aria-label="Send a sticker"
        title="Send a sticker"
        onClick={() => {
          loadPicker().then(
            (component) => {
              setPicker(() => component);
              setOpen(true);
            },
            () => say("The sticker picker could not be loaded.", true),
          );
        }}
      >
        <Icon name="sticker" />
      </button>
      {open && Picker ? (
        <Picker roomId={props.roomId} onClose={() => setOpen(false)} returnFocus={props.returnFocus} />
      ) : null}
    </>
  );
}

/** The packs page (`/settings/stickers`), loaded when first visited. */
export function StickersPage() {
  const [Page, setPage] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    import("./sticker-manager.tsx").then(
      (m) => setPage(() => m.StickerManager),
      () => setFailed(true),
    );
  }, []);
  if (failed) return <p class="form-error">This page could not be loaded; reload to try again.</p>;
  return Page ? <Page /> : <p class="loading">Loading…</p>;
}

/** A sticker message's image: large, without a frame; still for people who prefer reduced motion. */
export function StickerMessage(props: { message: Message }) {
  const image = props.message.attachments[0];
  if (!image) return null;
  const side = 160;
  const scale = image.width && image.height ? Math.min(1, side / image.width, side / image.height) : 1;
  return (
    <div class="sticker-image">
      <MotionImage
        src={image.previewUrl ?? image.url}
        still={image.stillUrl}
        alt={`Sticker: ${plain(image.name)}`}
        title={image.name}
        loading="lazy"
        width={image.width ? Math.round(image.width * scale) : side}
        height={image.height ? Math.round(image.height * scale) : side}
      />
    </div>
  );
}
