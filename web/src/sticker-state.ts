/**
 * Sticker packs the user sees (the server's, then their own): loaded when first needed (the
 * picker or the packs page opens) and kept current by `stickers.updated` events.
 */
import { signal } from "@preact/signals";
import { api } from "./api.ts";

export interface Sticker {
  id: string;
  packId: string;
  name: string;
  emoji: string | null;
  mediaType: string;
  width: number;
  height: number;
  url: string;
  /** Animated stickers: the first frame, shown to people who prefer reduced motion. */
  stillUrl?: string;
}

export interface StickerPack {
  id: string;
  name: string;
  kind: "server" | "personal";
  stickers: Sticker[];
  createdAt: string;
}

/** The packs; null until loaded. */
export const stickerPacks = signal<StickerPack[] | null>(null);

let loading: Promise<void> | null = null;

/** Loads the packs (once; `force` asks again). */
export function loadStickerPacks(force = false): Promise<void> {
  if (loading && !force) return loading;
  loading = api<{ packs: StickerPack[] }>("GET", "/sticker-packs").then(
    ({ packs }) => {
      stickerPacks.value = packs;
    },
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

/** After missed events: what was loaded is loaded again. */
export function reloadStickerPacks(): void {
  if (stickerPacks.peek() != null) void loadStickerPacks(true).catch(() => {});
}

function ordered(list: StickerPack[]): StickerPack[] {
  const rank = (p: StickerPack) => (p.kind === "server" ? 0 : 1);
  return list.sort((a, b) => rank(a) - rank(b) || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Applies a `stickers.updated` event: a personal pack comes with it (`pack`, null once
 * deleted); a server pack's change only names the pack, and the packs are loaded again.
 */
export function applyStickerEvent(data: Record<string, unknown>): void {
  const list = stickerPacks.peek();
  if (list == null || typeof data.packId !== "string") return;
  if (data.kind === "server") {
    reloadStickerPacks();
    return;
  }
  const pack = data.pack as StickerPack | null;
  const others = list.filter((p) => p.id !== data.packId);
  stickerPacks.value = pack ? ordered([...others, pack]) : others;
}
