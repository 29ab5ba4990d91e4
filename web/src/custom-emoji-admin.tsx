/**
 * The admin's section of the settings: this server's custom emoji, added (a PNG, GIF or WebP
 * under a `:shortcode:`), renamed and deleted. Only an admin sees it; the server checks again.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { type CustomEmoji, customEmoji, loadCustomEmoji } from "./custom-emoji.ts";
import { EmojiImage } from "./custom-emoji-render.tsx";
import { describeError } from "./errors.ts";
import { FileField } from "./file-button.tsx";
import { say } from "./store.ts";
import { ActionButton, Field, FormError, useSubmit } from "./ui.tsx";

export function CustomEmojiAdmin() {
  useEffect(() => {
    void loadCustomEmoji();
  }, []);
  const list = customEmoji.value;
  const [error, setError] = useState<string | null>(null);
  const {
    busy,
    error: addError,
    onSubmit,
  } = useSubmit(async (form) => {
    const data = new FormData(form);
    const shortcode = String(data.get("shortcode") ?? "")
      .trim()
      .replace(/^:|:$/g, "");
    data.set("shortcode", shortcode);
    await api<CustomEmoji>("POST", "/custom-emoji", data);
    form.reset();
    await loadCustomEmoji(true);
    say(`:${shortcode}: added.`);
  }, describeError);

  return (
    <section class="card" aria-labelledby="emoji-admin-title">
      <h2 id="emoji-admin-title">Custom emoji</h2>
      <p class="muted small">
        This server's emoji, for everyone here. PNG, GIF or WebP, at most 256 KB and 256×256 pixels; animation is kept.
      </p>
      <form class="emoji-admin-form" onSubmit={onSubmit}>
        <Field label="Shortcode" hint="Letters, digits and _, 2 to 64">
          <input name="shortcode" required pattern=":?[A-Za-z0-9_]{2,64}:?" maxLength={66} autoComplete="off" />
        </Field>
        <FileField label="Image" text="Choose an image" name="file" required accept="image/png,image/gif,image/webp" />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Add emoji
          </button>
        </div>
      </form>
      <FormError error={addError ?? error} />
      {list == null ? (
        <p class="loading">Loading emoji…</p>
      ) : list.length === 0 ? (
        <p class="muted">No custom emoji yet.</p>
      ) : (
        <ul class="emoji-admin-list" aria-label="Custom emoji">
          {list.map((emoji) => (
            <EmojiRow key={emoji.id} emoji={emoji} onError={setError} />
          ))}
        </ul>
      )}
    </section>
  );
}

function EmojiRow(props: { emoji: CustomEmoji; onError: (message: string) => void }) {
  const { emoji } = props;
  const [renaming, setRenaming] = useState(false);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const shortcode = String(new FormData(form).get("shortcode") ?? "")
      .trim()
      .replace(/^:|:$/g, "");
    await api("PATCH", `/custom-emoji/${emoji.id}`, { shortcode });
    setRenaming(false);
    await loadCustomEmoji(true);
    say(`Renamed to :${shortcode}:.`);
  }, describeError);
  return (
    <li>
      <EmojiImage shortcode={emoji.shortcode} url={emoji.url} />
      {renaming ? (
        <form class="emoji-admin-form" onSubmit={onSubmit}>
          <Field label={`New shortcode for :${emoji.shortcode}:`}>
            <input name="shortcode" required defaultValue={emoji.shortcode} maxLength={66} />
          </Field>
          <button type="submit" disabled={busy}>
            Save
          </button>
          <button type="button" class="link" onClick={() => setRenaming(false)}>
            Cancel
          </button>
          <FormError error={error} />
        </form>
      ) : (
        <>
          <code>:{emoji.shortcode}:</code>
          <button type="button" class="link" onClick={() => setRenaming(true)}>
            Rename<span class="visually-hidden"> :{emoji.shortcode}:</span>
          </button>
          <ActionButton
            class="link danger"
            label={`Delete :${emoji.shortcode}:`}
            onError={props.onError}
            action={async () => {
              await api("DELETE", `/custom-emoji/${emoji.id}`);
              await loadCustomEmoji(true);
              say(`:${emoji.shortcode}: deleted.`);
            }}
          >
            Delete
          </ActionButton>
        </>
      )}
    </li>
  );
}
