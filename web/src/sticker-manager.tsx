/**
 * The sticker packs page (`/settings/stickers`, a chunk loaded on first visit): your own packs
 * (make, rename, delete; add and delete stickers) and, for admins, the server's packs.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, upload } from "./api.ts";
import { describeError } from "./errors.ts";
import { FileButton } from "./file-button.tsx";
import { Icon } from "./icons.tsx";
import { MotionImage } from "./motion.tsx";
import { Name, plain } from "./names.tsx";
import { say } from "./status.ts";
import { loadStickerPacks, type Sticker, type StickerPack, stickerPacks } from "./sticker-state.ts";
import { me, pageTitle } from "./store.ts";
import { Confirm, FormError, useSubmit } from "./ui.tsx";

/** What a refused sticker upload means, by code. */
function uploadError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === "payload_too_large") return "The image is larger than 512 KB.";
  if (code === "unsupported_media_type") return "A sticker is a PNG, GIF or WebP image.";
  if (code === "sticker_limit_reached") return "The limit is reached: 10 packs, 100 stickers a pack.";
  return describeError(error);
}

export function StickerManager() {
  const user = me.value;
  const packs = stickerPacks.value;
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    pageTitle.value = "Sticker packs";
    loadStickerPacks().catch(() => setFailed(true));
  }, []);
  const admin = user?.role === "admin";
  const mine = packs?.filter((p) => p.kind === "personal") ?? [];
  const server = packs?.filter((p) => p.kind === "server") ?? [];
  return (
    <section class="page settings sticker-manager" aria-labelledby="stickers-title">
      <header class="page-head">
        <a href="/settings" class="icon-button back" aria-label="Back to settings">
          <Icon name="back" />
        </a>
        <h1 id="stickers-title">Sticker packs</h1>
      </header>
      {failed ? <p class="form-error">The sticker packs could not be loaded.</p> : null}
      {packs == null && !failed ? <p class="loading">Loading…</p> : null}
      <section class="card" aria-labelledby="my-packs-title">
        <h2 id="my-packs-title">Your packs</h2>
        <p class="muted small">
          Only you see these. Up to 10 packs of 100 stickers: PNG, GIF or WebP, 512 KB, 512×512.
        </p>
        {mine.map((p) => (
          <PackEditor key={p.id} pack={p} />
        ))}
        <NewPack server={false} />
      </section>
      {admin || server.length > 0 ? (
        <section class="card" aria-labelledby="server-packs-title">
          <h2 id="server-packs-title">Server packs</h2>
          <p class="muted small">
            {admin ? "Everyone on this server sees these; admins change them." : "Made by this server's admins."}
          </p>
          {server.map((p) => (admin ? <PackEditor key={p.id} pack={p} /> : <PackView key={p.id} pack={p} />))}
          {admin ? <NewPack server /> : null}
        </section>
      ) : null}
    </section>
  );
}

function NewPack(props: { server: boolean }) {
  const id = props.server ? "new-server-pack" : "new-pack";
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    await api("POST", "/sticker-packs", {
      name: String(new FormData(form).get("name") ?? ""),
      ...(props.server ? { server: true } : {}),
    });
    form.reset();
    await loadStickerPacks(true);
  }, uploadError);
  return (
    <form class="sticker-new-pack" onSubmit={onSubmit}>
      <label for={id}>{props.server ? "New server pack" : "New pack"}</label>
      <div class="row">
        <input id={id} name="name" required maxLength={64} pattern="[^/\\\\.]+" placeholder="Name" />
        <button type="submit" disabled={busy}>
          Create pack
        </button>
      </div>
      <FormError error={error} />
    </form>
  );
}

function StickerTile(props: { sticker: Sticker }) {
  const s = props.sticker;
  return <MotionImage src={s.url} still={s.stillUrl} alt={plain(s.name)} width={64} height={64} loading="lazy" />;
}

function PackView(props: { pack: StickerPack }) {
  return (
    <div class="sticker-pack">
      <h3>
        <Name text={props.pack.name} />
      </h3>
      <ul class="sticker-grid">
        {props.pack.stickers.map((s) => (
          <li key={s.id}>
            <StickerTile sticker={s} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function PackEditor(props: { pack: StickerPack }) {
  const { pack } = props;
  const [confirming, setConfirming] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileId = `sticker-file-${pack.id}`;

  async function add(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const file = data.get("file");
    if (!(file instanceof File) || file.size === 0) return setError("Choose an image.");
    setError(null);
    setProgress(0);
    try {
      await upload(`/sticker-packs/${pack.id}/stickers`, file, setProgress, {
        name: String(data.get("name") ?? ""),
        emoji: String(data.get("emoji") ?? ""),
      }).done;
      form.reset();
      await loadStickerPacks(true);
    } catch (failure) {
      setError(uploadError(failure));
    } finally {
      setProgress(null);
    }
  }

  async function remove(sticker: Sticker) {
    try {
      await api("DELETE", `/stickers/${sticker.id}`);
      await loadStickerPacks(true);
    } catch (failure) {
      say(describeError(failure), true);
    }
  }

  return (
    <section class="sticker-pack" aria-label={`Pack ${plain(pack.name)}`}>
      <div class="sticker-pack-head">
        <h3>
          <Name text={pack.name} />
        </h3>
        <span class="muted small">{pack.stickers.length} / 100</span>
        <button type="button" class="link danger" onClick={() => setConfirming(true)}>
          Delete pack
        </button>
      </div>
      <ul class="sticker-grid">
        {pack.stickers.map((s) => (
          <li key={s.id} class="sticker-editable">
            <StickerTile sticker={s} />
            <button
              type="button"
              class="icon-button sticker-delete"
              aria-label={`Delete sticker ${plain(s.name)}`}
              onClick={() => void remove(s)}
            >
              <Icon name="trash" size={14} />
            </button>
          </li>
        ))}
      </ul>
      <form class="sticker-add" onSubmit={(e) => void add(e)}>
        <label for={fileId}>Add a sticker</label>
        <div class="row">
          <FileButton id={fileId} text="Choose an image" name="file" accept="image/png,image/gif,image/webp" required />
          <input
            name="name"
            required
            maxLength={64}
            pattern="[^/\\\\.]+"
            placeholder="Name"
            aria-label="Sticker name"
          />
          <input
            name="emoji"
            maxLength={16}
            placeholder="Emoji"
            aria-label="Emoji hint (optional)"
            class="sticker-emoji"
          />
          <button type="submit" disabled={progress != null}>
            {progress != null ? `Uploading ${Math.round(progress * 100)}%` : "Upload"}
          </button>
        </div>
        <FormError error={error} />
      </form>
      {confirming ? (
        <Confirm
          title={
            <>
              Delete <Name text={pack.name} />?
            </>
          }
          action="Delete pack"
          onConfirm={async () => {
            try {
              await api("DELETE", `/sticker-packs/${pack.id}`);
              await loadStickerPacks(true);
            } catch (failure) {
              say(describeError(failure), true);
            }
            setConfirming(false);
          }}
          onClose={() => setConfirming(false)}
        >
          <p>Its stickers go with it. Messages that sent them keep their images.</p>
        </Confirm>
      ) : null}
    </section>
  );
}
