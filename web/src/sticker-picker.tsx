/**
 * The sticker picker (a chunk of its own, loaded when first opened): a tab per pack, the
 * pack's stickers in a grid; choosing one sends it at once. Keyboard: ← and → move along the
 * tabs; in the grid the arrow keys move (four to a row), Home and End go to the ends, Enter or
 * Space send.
 */
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { MotionImage } from "./motion.tsx";
import { plain } from "./names.tsx";
import { roomState } from "./room-state.ts";
import { say } from "./status.ts";
import { loadStickerPacks, type Sticker, stickerPacks } from "./sticker-state.ts";
import type { Message } from "./types.ts";
import { Dialog } from "./ui.tsx";

/** Stickers per row: ↑ and ↓ move by this many. */
const columns = 4;

/**
 * Sends a sticker to a room; the message shows when the server answers (or, in a room on
 * another server, when the stream brings it back).
 */
export async function sendSticker(roomId: string, sticker: Sticker, thread?: { rootId: string }): Promise<boolean> {
  try {
    const message = await api<Message>("PUT", `/rooms/${roomId}/stickers/${crypto.randomUUID()}`, {
      sticker: sticker.id,
      ...(thread ? { threadRootId: thread.rootId } : {}),
    });
    if (!message.pending) roomState(roomId).answered(message);
    return true;
  } catch (error) {
    say(describeError(error), true);
    return false;
  }
}

export function StickerPicker(props: {
  roomId: string;
  onClose(): void;
  returnFocus?: () => HTMLElement | null | undefined;
}) {
  const packs = stickerPacks.value;
  const [failed, setFailed] = useState(false);
  const [tab, setTab] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const [sending, setSending] = useState(false);
  const grid = useRef<HTMLUListElement>(null);
  const load = () => {
    setFailed(false);
    loadStickerPacks().catch(() => setFailed(true));
  };
  useEffect(load, []);

  const shown = packs?.find((p) => p.id === tab) ?? packs?.find((p) => p.stickers.length > 0) ?? packs?.[0];
  const list = shown?.stickers ?? [];

  function focusCell(at: number) {
    setActive(at);
    grid.current?.querySelectorAll<HTMLButtonElement>("button")[at]?.focus();
  }

  function onGridKey(e: TargetedKeyboardEvent<HTMLButtonElement>) {
    const last = list.length - 1;
    const moves: Record<string, number> = {
      ArrowRight: active + 1,
      ArrowLeft: active - 1,
      ArrowDown: active + columns,
      ArrowUp: active - columns,
      Home: 0,
      End: last,
    };
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    focusCell(Math.max(0, Math.min(last, to)));
  }

  function onTabKey(e: TargetedKeyboardEvent<HTMLButtonElement>, at: number) {
    if (!packs || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
    e.preventDefault();
    const next = packs[(at + (e.key === "ArrowRight" ? 1 : packs.length - 1)) % packs.length];
    if (!next) return;
    setTab(next.id);
    setActive(0);
    (e.currentTarget.parentElement?.querySelector(`#sticker-tab-${next.id}`) as HTMLElement | null)?.focus();
  }

  async function pick(sticker: Sticker) {
    if (sending) return;
    setSending(true);
    const sent = await sendSticker(props.roomId, sticker);
    setSending(false);
    if (sent) props.onClose();
  }

  return (
    <Dialog title="Send a sticker" onClose={props.onClose} returnFocus={props.returnFocus}>
      {failed ? (
        <p class="form-error" role="alert">
          The stickers could not be loaded.{" "}
          <button type="button" class="link" onClick={load}>
            Try again
          </button>
        </p>
      ) : null}
      {packs == null && !failed ? <p class="loading">Loading stickers…</p> : null}
      {packs != null && packs.length === 0 ? (
        <p class="muted">
          No sticker packs yet. <a href="/settings/stickers">Make one</a> and add your stickers to it.
        </p>
      ) : null}
      {packs != null && packs.length > 0 ? (
        <>
          <div class="tabs sticker-tabs" role="tablist" aria-label="Sticker packs">
            {packs.map((p, at) => (
              <button
                key={p.id}
                type="button"
                role="tab"
                id={`sticker-tab-${p.id}`}
                aria-selected={shown?.id === p.id}
                aria-controls="sticker-panel"
                tabIndex={shown?.id === p.id ? 0 : -1}
                onClick={() => {
                  setTab(p.id);
                  setActive(0);
                }}
                onKeyDown={(e) => onTabKey(e, at)}
              >
                {p.name}
                {p.kind === "server" ? <span class="visually-hidden"> (server pack)</span> : null}
              </button>
            ))}
          </div>
          <div role="tabpanel" id="sticker-panel" aria-labelledby={shown ? `sticker-tab-${shown.id}` : undefined}>
            {list.length === 0 ? <p class="muted">This pack has no stickers yet.</p> : null}
            <ul class="sticker-grid" ref={grid} aria-label={shown ? `Stickers of ${plain(shown.name)}` : "Stickers"}>
              {list.map((s, at) => (
                <li key={s.id}>
                  <button
                    type="button"
                    class="sticker-cell"
                    tabIndex={at === Math.min(active, list.length - 1) ? 0 : -1}
                    aria-label={`Send sticker ${plain(s.name)}`}
                    title={s.emoji ? `${s.name} ${s.emoji}` : s.name}
                    disabled={sending}
                    onClick={() => void pick(s)}
                    onFocus={() => setActive(at)}
                    onKeyDown={onGridKey}
                  >
                    <MotionImage src={s.url} still={s.stillUrl} alt="" loading="lazy" width={72} height={72} />
                  </button>
                </li>
              ))}
            </ul>
          </div>
          <p class="small">
            <a href="/settings/stickers">Manage sticker packs</a>
          </p>
        </>
      ) : null}
    </Dialog>
  );
}
