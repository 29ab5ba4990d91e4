/**
 * The outbox at work: after a sign-in (a reload, a crash) the account's unsent messages come
 * back as pending and are sent again under their txnIds; failures that may pass are retried
 * with a growing delay and when the browser comes back online; the page asks before closing
 * while something is unsent or uploading. Storage and failure kinds: outbox-store.ts.
 */
import { batch } from "@preact/signals";
import { onSession } from "./api.ts";
import { restoreToDraft, threadScope } from "./drafts.ts";
import { forgetSend, keptSends, retryDelay } from "./outbox-store.ts";
import { deliver, discardSend, roomState, roomStates } from "./room-state.ts";
import type { PendingMessage } from "./types.ts";

/** How long a message the server refused stays in the outbox for its writer to edit or delete. */
const keepRefusedMs = 7 * 24 * 3600 * 1000;

/** Uploads under way in any composer (the page warns before closing meanwhile). */
let uploading = 0;

/** Counts an upload until it settles. */
export function trackUpload(done: Promise<unknown>): void {
  uploading++;
  // Not `finally`: its promise would reject again, unhandled, when the upload fails.
  const settle = () => {
    uploading--;
  };
  done.then(settle, settle);
}

/** Every message of this tab not acknowledged by the server. */
export function unsent(): PendingMessage[] {
  return [...roomStates.values()].flatMap((s) => s.pending.peek().filter((p) => !p.messageId));
}

/** Brings back the account's kept messages as pending, and sends those that may go. */
export async function restoreOutbox(): Promise<void> {
  const kept = await keptSends();
  const go: PendingMessage[] = [];
  batch(() => {
    for (const { userId: _, ...entry } of kept) {
      const refused = entry.state === "failed" && entry.retryable === false;
      // A refusal nobody took back in a week (a room left since, say) is let go.
      if (refused && Date.now() - Date.parse(entry.createdAt) > keepRefusedMs) {
        void forgetSend(entry.txnId);
        continue;
      }
      const state = roomState(entry.roomId);
      if (state.pending.peek().some((p) => p.txnId === entry.txnId)) continue;
      // A message that can never go as it is waits for its writer; any other goes again.
      const pending: PendingMessage = refused ? entry : { ...entry, state: "sending" };
      state.pending.value = [...state.pending.peek(), pending];
      if (pending.state === "sending") go.push(pending);
    }
  });
  for (const p of go) await deliver(p);
}

let failures = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Sends again, now, every failed message that may pass. */
export function retryFailed(): void {
  for (const p of unsent()) if (p.state === "failed" && p.retryable) void deliver(p);
}

// While signed in: look every little while for sends that failed but may pass, waiting longer
// after each round that found some (2 s doubling to 30 s), and start over once none are left.
function tick(): void {
  const waiting = unsent().some((p) => p.state === "failed" && p.retryable);
  if (waiting) {
    failures++;
    retryFailed();
  } else failures = 0;
  timer = setTimeout(tick, waiting ? retryDelay(failures + 1) : 2000);
}

onSession((user) => {
  clearTimeout(timer);
  failures = 0;
  if (!user) return;
  void restoreOutbox();
  timer = setTimeout(tick, 2000);
});

if (typeof addEventListener === "function") {
  addEventListener("online", () => {
    failures = 0;
    retryFailed();
  });
  // The outbox keeps every message, but what is on its way should not look lost: ask first.
  addEventListener("beforeunload", (event) => {
    if (uploading === 0 && !unsent().some((p) => p.state === "sending" || p.retryable)) return;
    event.preventDefault();
    event.returnValue = "";
  });
}

/** Takes a message that could not be sent back into its composer, and out of the outbox. */
export function editUnsent(pending: PendingMessage): void {
  const scope = pending.threadRootId ? threadScope(pending.roomId, pending.threadRootId) : pending.roomId;
  restoreToDraft(scope, pending.content);
  discardSend(pending);
}
