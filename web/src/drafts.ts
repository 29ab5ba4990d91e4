/**
 * Drafts: what was typed but not sent, per account and per composer (a room's, a thread's),
 * kept in localStorage so a room switch or a reload loses nothing. Bounded in count and size so
 * localStorage never fills up; cleared on send and on logout.
 */
import { type Signal, signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { onLogout, onSession } from "./api.ts";
import type { Attachment } from "./types.ts";

/** At most this many drafts per account: the oldest go first. */
export const maxDrafts = 50;
/** A draft keeps at most this many characters (four messages' worth; the box holds no more). */
export const maxDraftLength = 16_000;

export interface Draft {
  text: string;
  /** Files uploaded for the message but not sent yet. */
  attachments?: Attachment[];
  /** When it was last written (ms), to drop the oldest. */
  at: number;
}

/** The part of `Storage` the store needs (a Map-backed one in tests). */
export type DraftStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The composer of a room (its id) or of a thread in it. */
export function threadScope(roomId: string, rootId: string): string {
  return `${roomId}/thread/${rootId}`;
}

/** A draft store over `storage`: one JSON record per account. */
export function draftStore(storage: () => DraftStorage | null) {
  const key = (userId: string) => `fedchat-drafts:${userId}`;

  function readAll(userId: string): Record<string, Draft> {
    try {
      const parsed: unknown = JSON.parse(storage()?.getItem(key(userId)) ?? "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, Draft>) : {};
    } catch {
      return {};
    }
  }

  function writeAll(userId: string, all: Record<string, Draft>): void {
    const s = storage();
    if (!s) return;
    let entries = Object.entries(all)
      .sort(([, a], [, b]) => b.at - a.at)
      .slice(0, maxDrafts);
    // Full (other data of this origin): drop the oldest half until it fits, or give up.
    for (;;) {
      try {
        if (entries.length === 0) s.removeItem(key(userId));
        else s.setItem(key(userId), JSON.stringify(Object.fromEntries(entries)));
        return;
      } catch {
        if (entries.length <= 1) return;
        entries = entries.slice(0, Math.floor(entries.length / 2));
      }
    }
  }

  return {
    get(userId: string, scope: string): Draft | null {
      const draft = readAll(userId)[scope];
      return draft && typeof draft.text === "string" ? draft : null;
    },
    /** Keeps a draft; an empty one (no text, no files) is removed. */
    set(userId: string, scope: string, draft: { text: string; attachments?: Attachment[] }, at = Date.now()): void {
      const all = readAll(userId);
      const files = draft.attachments?.length ? draft.attachments : undefined;
      if (!draft.text.trim() && !files) {
        if (!(scope in all)) return;
        delete all[scope];
      } else {
        all[scope] = { text: draft.text.slice(0, maxDraftLength), ...(files ? { attachments: files } : {}), at };
      }
      writeAll(userId, all);
    },
    /** Forgets every draft of the account. */
    clear(userId: string): void {
      storage()?.removeItem(key(userId));
    },
  };
}

function browserStorage(): DraftStorage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    // Storage disabled (a privacy setting): drafts live as long as the page.
    return null;
  }
}

export const drafts = draftStore(browserStorage);

let userId: string | null = null;
onSession((user) => {
  userId = user?.id ?? null;
});

/** Bumped when a draft is written from outside its composer (a failed message taken back to edit). */
const changed = signal<{ scope: string; n: number }>({ scope: "", n: 0 });

// Writes wait a moment (typing writes often); a page going away writes at once.
const waiting = new Map<string, { user: string; draft: { text: string; attachments?: Attachment[] } }>();
let timer: ReturnType<typeof setTimeout> | undefined;
onLogout(() => {
  waiting.clear();
  if (userId) drafts.clear(userId);
});

/** Writes every draft that waits. */
export function flushDrafts(): void {
  clearTimeout(timer);
  // Signed out meanwhile (here or in another tab): the account's drafts are gone, and stay so.
  for (const [scope, { user, draft }] of waiting) if (user === userId) drafts.set(user, scope, draft);
  waiting.clear();
}

if (typeof addEventListener === "function") {
  addEventListener("pagehide", flushDrafts);
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushDrafts();
  });
}

/** Keeps the draft of `scope` for the signed-in account: soon, or at once when it is emptied (a send). */
export function saveDraft(scope: string, draft: { text: string; attachments?: Attachment[] }): void {
  if (!userId) return;
  if (!draft.text.trim() && !draft.attachments?.length) {
    waiting.delete(scope);
    drafts.set(userId, scope, draft);
    return;
  }
  waiting.set(scope, { user: userId, draft });
  clearTimeout(timer);
  timer = setTimeout(flushDrafts, 300);
}

/** The draft of `scope` for the signed-in account. */
export function readDraft(scope: string): Draft | null {
  const w = waiting.get(scope);
  if (w) return { ...w.draft, at: Date.now() };
  return userId ? drafts.get(userId, scope) : null;
}

/** Puts text back into a composer (added after what it holds), mounted or not. */
export function restoreToDraft(scope: string, text: string): void {
  const now = readDraft(scope);
  const merged = now?.text.trim() ? `${now.text}\n${text}` : text;
  saveDraft(scope, { text: merged, ...(now?.attachments ? { attachments: now.attachments } : {}) });
  flushDrafts();
  changed.value = { scope, n: changed.peek().n + 1 };
}

/**
 * Binds a composer's text (and its uploaded files) to the draft of `scope`: loads it on mount,
 * keeps it as it changes, and takes text restored from outside. While `paused` (editing a sent
 * message) nothing is kept; when the pause ends, the draft comes back into the box.
 * @returns The draft found on mount (its files, for the composer to show).
 */
export function useDraft(
  scope: string,
  text: Signal<string>,
  options: { paused?: boolean; attachments?: Attachment[] } = {},
): Draft | null {
  const { paused = false, attachments } = options;
  const first = useRef<Draft | null | undefined>(undefined);
  const wasPaused = useRef(paused);
  if (first.current === undefined) {
    first.current = readDraft(scope);
    if (first.current && !text.peek()) text.value = first.current.text;
  }
  const restored = changed.value;
  useEffect(() => {
    if (restored.scope !== scope || paused) return;
    text.value = readDraft(scope)?.text ?? "";
  }, [restored.n]);
  useEffect(() => {
    if (paused) {
      wasPaused.current = true;
      return;
    }
    if (wasPaused.current) {
      wasPaused.current = false;
      text.value = readDraft(scope)?.text ?? "";
      return;
    }
    saveDraft(scope, { text: text.value, ...(attachments?.length ? { attachments } : {}) });
  }, [text.value, paused, attachments?.map((a) => a.id).join()]);
  useEffect(() => flushDrafts, []);
  return first.current;
}
