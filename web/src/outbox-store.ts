/**
 * The outbox's storage: every message not yet acknowledged by the server, in IndexedDB, per
 * account, so that a reload, a crash or a lost connection loses none. The server keeps sends
 * idempotent per sender and transaction id, so a message kept here is sent again under its
 * txnId and arrives once. Also: which failures may pass by themselves (sent again) and which
 * never will (shown with their reason).
 */
import { ApiError, onLogout, onSession } from "./api.ts";
import { describeError } from "./errors.ts";
import type { PendingMessage } from "./types.ts";

/** A pending message as kept: whose it is. */
export interface OutboxEntry extends PendingMessage {
  userId: string;
}

export interface OutboxStore {
  put(entry: OutboxEntry): Promise<void>;
  delete(txnId: string): Promise<void>;
  /** The account's entries, oldest first. */
  list(userId: string): Promise<OutboxEntry[]>;
  clear(userId: string): Promise<void>;
}

/** An outbox in memory (no IndexedDB, as in a private window of some browsers, and in tests). */
export function memoryOutbox(): OutboxStore {
  const entries = new Map<string, OutboxEntry>();
  return {
    async put(entry) {
      entries.set(entry.txnId, structuredClone(entry));
    },
    async delete(txnId) {
      entries.delete(txnId);
    },
    async list(userId) {
      return [...entries.values()]
        .filter((e) => e.userId === userId)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async clear(userId) {
      for (const [txnId, e] of entries) if (e.userId === userId) entries.delete(txnId);
    },
  };
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The outbox in IndexedDB: database `fedchat-outbox`, store `messages` by txnId, indexed by account. */
export function indexedDbOutbox(factory: IDBFactory): OutboxStore {
  let opened: Promise<IDBDatabase> | null = null;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const open = factory.open("fedchat-outbox", 1);
      open.onupgradeneeded = () => {
        const store = open.result.createObjectStore("messages", { keyPath: "txnId" });
        store.createIndex("userId", "userId");
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
      open.onblocked = () => reject(new Error("IndexedDB is blocked"));
    });
    return opened;
  };
  const store = async (mode: IDBTransactionMode) =>
    (await db()).transaction("messages", mode, { durability: "strict" }).objectStore("messages");
  return {
    async put(entry) {
      await request((await store("readwrite")).put(entry));
    },
    async delete(txnId) {
      await request((await store("readwrite")).delete(txnId));
    },
    async list(userId) {
      const all = await request((await store("readonly")).index("userId").getAll(userId));
      return (all as OutboxEntry[]).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async clear(userId) {
      const s = await store("readwrite");
      const keys = await request(s.index("userId").getAllKeys(userId));
      await Promise.all(keys.map((k) => request(s.delete(k))));
    },
  };
}

/** The outbox of this browser: IndexedDB, or memory where there is none. */
let backend: OutboxStore =
  typeof indexedDB === "undefined" ? memoryOutbox() : fallBack(indexedDbOutbox(indexedDB), memoryOutbox());

/** Uses `main`, and `spare` from its first failure on (IndexedDB refused, or full). */
function fallBack(main: OutboxStore, spare: OutboxStore): OutboxStore {
  let broken = false;
  const use =
    <A extends unknown[], R>(f: (s: OutboxStore) => (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (!broken) {
        try {
          return await f(main)(...args);
        } catch {
          broken = true;
        }
      }
      return f(spare)(...args);
    };
  return {
    put: use((s) => s.put),
    delete: use((s) => s.delete),
    list: use((s) => s.list),
    clear: use((s) => s.clear),
  };
}

/** Replaces the storage (tests). */
export function useOutboxStore(store: OutboxStore): void {
  backend = store;
}

/** The signed-in account, whose outbox this is. */
export let outboxUser: string | null = null;
onSession((user) => {
  outboxUser = user?.id ?? null;
});
onLogout(() => {
  if (outboxUser) void run(() => backend.clear(outboxUser as string));
});

// One operation at a time, in the order asked: a "sent" never lands before the "kept" it follows.
let queue: Promise<unknown> = Promise.resolve();
function run<T>(op: () => Promise<T>): Promise<T | undefined> {
  const next = queue.then(op).catch(() => undefined);
  queue = next;
  return next;
}

/** Keeps a pending message (new, or with a new state) for the signed-in account. */
export function keepSend(pending: PendingMessage): Promise<void> {
  const userId = outboxUser;
  if (!userId) return Promise.resolve();
  return run(() => backend.put({ ...pending, userId })).then(() => undefined);
}

/** Forgets a message: the server has it, or its writer discarded it. */
export function forgetSend(txnId: string): Promise<void> {
  return run(() => backend.delete(txnId)).then(() => undefined);
}

/** The signed-in account's unsent messages, oldest first. */
export async function keptSends(): Promise<OutboxEntry[]> {
  const userId = outboxUser;
  if (!userId) return [];
  return (await run(() => backend.list(userId))) ?? [];
}

/**
 * What a failed send means: `retryable` when it may pass by itself (offline, the server down
 * or busy, the session being renewed), so it is sent again; otherwise the reason stays shown
 * and the message waits for its writer to edit or delete it.
 */
export function failureOf(error: unknown): { error: string; retryable: boolean } {
  const retryable =
    error instanceof ApiError &&
    (error.code === "network" ||
      error.code === "rate_limited" ||
      error.code === "unauthenticated" ||
      error.status === 408 ||
      error.status >= 500);
  if (retryable || !(error instanceof ApiError)) return { error: describeError(error), retryable };
  const why =
    error.code === "validation_failed"
      ? `The server refused this message (${describeError(error)}).`
      : describeError(error);
  return { error: `${why} It cannot be sent as it is.`, retryable: false };
}

/** How long to wait before sending again after `failures` failed rounds in a row: 2 s doubling to 30 s. */
export function retryDelay(failures: number): number {
  return Math.min(30_000, 2000 * 2 ** Math.max(0, failures - 1));
}
