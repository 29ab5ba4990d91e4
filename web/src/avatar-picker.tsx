/** Choosing a picture (a user's or a room's) with a preview before it is uploaded. */
import { useEffect, useState } from "preact/hooks";
import { describeError } from "./errors.ts";
import { FileField } from "./file-button.tsx";
import { say } from "./store.ts";
import { Avatar, FormError } from "./ui.tsx";

/** Avatar files the server accepts (src/media/images.ts). */
const imageTypes = "image/png,image/jpeg,image/webp,image/gif";
const maxAvatarBytes = 2 * 1024 * 1024;

/** A file input with a preview of the chosen picture before it is uploaded. */
export function AvatarPicker(props: {
  id: string;
  name: string;
  current: string | null;
  upload(file: File): Promise<void>;
  remove(): Promise<void>;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);
  return (
    <div class="avatar-picker">
      <Avatar id={props.id} name={props.name} url={preview ?? props.current} size="l" />
      <div>
        <FileField
          label="Picture (PNG, JPEG, WebP or GIF, at most 2 MB)"
          text="Choose a picture"
          accept={imageTypes}
          onChange={(e) => {
            setError(null);
            const chosen = e.currentTarget.files?.[0] ?? null;
            if (chosen && !imageTypes.split(",").includes(chosen.type)) {
              setError("Choose a PNG, JPEG, WebP or GIF picture.");
              e.currentTarget.value = "";
              return;
            }
            if (chosen && chosen.size > maxAvatarBytes) {
              setError("That picture is larger than 2 MB.");
              e.currentTarget.value = "";
              return;
            }
            setFile(chosen);
            setPreview(chosen ? URL.createObjectURL(chosen) : null);
          }}
        />
        <FormError error={error} />
        <div class="actions left">
          <button
            type="button"
            class="primary"
            disabled={!file || busy}
            onClick={async () => {
              if (!file) return;
              setBusy(true);
              try {
                await props.upload(file);
                setFile(null);
                setPreview(null);
                say("Picture saved.");
              } catch (e) {
                setError(describeError(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            Upload picture
          </button>
          {props.current ? (
            <button
              type="button"
              disabled={busy}
              onClick={async () => {
                try {
                  await props.remove();
                  say("Picture removed.");
                } catch (e) {
                  setError(describeError(e));
                }
              }}
            >
              Remove picture
            </button>
          ) : null}
        </div>
      </div>
    </div>
  );
}

/** A form with one file, as the avatar endpoints take it. */
export function formWith(file: File): FormData {
  const form = new FormData();
  form.append("file", file);
  return form;
}
