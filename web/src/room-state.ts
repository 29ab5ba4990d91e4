/**
 * One state object per room (messages by seq, pending sends, members, typing, pins), and
 * sending: stream events are applied to these by store.ts, each to the room it names.
 */
import { batch, signal } from "@preact/signals";
import { ApiError, api, upload } from "./api.ts";
import { describeError } from "./errors.ts";
import { failureOf, forgetSend, keepSend } from "./outbox-store.ts";
import { say } from "./status.ts";
import type { Attachment, Member, Message, PendingMessage, Pin } from "./types.ts";

export const presence = signal<Record<string, "online" | "offline">>({});

export class RoomState {
  readonly messages = signal<Message[]>([]);
  readonly pending = signal<PendingMessage[]>([]);
  readonly members = signal<Member[] | null>(null);
  /** Pinned messages, newest pin first; null until loaded. */
  readonly pins = signal<Pin[] | null>(null);
  /** Who is typing: actor id → when the notice runs out. */
  readonly typing = signal<Record<string, number>>({});
  /** Whether the newest page has been loaded (events are applied only then). */
  readonly loaded = signal(false);
  /** Whether the oldest message is loaded. */
  readonly atStart = signal(false);
  /**
   * Whether the newest message is loaded. False after a jump to an older message (a search
   * result): new messages then wait for {@link loadNewer} instead of leaving a hole.
   */
  readonly atEnd = signal(true);
  readonly loadingNewer = signal(false);
  readonly loadingOlder = signal(false);
  readonly error = signal<string | null>(null);
  #loading: Promise<void> | null = null;

  readonly roomId: string;

  constructor(roomId: string) {
    this.roomId = roomId;
  }

  /** Loads the newest page (once; again after a resync). */
  load(): Promise<void> {
    if (this.loaded.peek()) return Promise.resolve();
    this.#loading ??= api<{ messages: Message[] }>("GET", `/rooms/${this.roomId}/messages?limit=50`)
      .then(({ messages }) => {
        batch(() => {
          this.messages.value = merge(this.messages.peek(), messages);
          this.atStart.value = messages.length < 50;
          this.atEnd.value = true;
          this.loaded.value = true;
          this.error.value = null;
        });
      })
      .catch((error) => {
        this.error.value = describeError(error);
      })
      .finally(() => {
        this.#loading = null;
      });
    return this.#loading;
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder.peek() || this.atStart.peek()) return;
    const oldest = this.messages.peek()[0];
    if (!oldest) return;
    this.loadingOlder.value = true;
    try {
      const { messages } = await api<{ messages: Message[] }>(
        "GET",
        `/rooms/${this.roomId}/messages?before=${oldest.seq}&limit=50`,
      );
      batch(() => {
        this.messages.value = merge(messages, this.messages.peek());
        if (messages.length < 50) this.atStart.value = true;
      });
    } catch (error) {
      say(describeError(error), true);
    } finally {
      this.loadingOlder.value = false;
    }
  }

  /**
   * Makes sure the message numbered `seq` is loaded: when it is not, loads the page around it
   * (`?around=`), which replaces what is loaded unless the two touch.
   */
  async loadAround(seq: number): Promise<void> {
    const loaded = this.messages.peek();
    if (this.loaded.peek() && loaded.some((m) => m.seq === seq)) return;
    try {
      const { messages } = await api<{ messages: Message[] }>(
        "GET",
        `/rooms/${this.roomId}/messages?around=${seq}&limit=50`,
      );
      const oldest = loaded[0];
      const last = messages.at(-1);
      batch(() => {
        if (this.loaded.peek() && oldest && last && last.seq >= oldest.seq - 1) {
          this.messages.value = merge(messages, loaded);
        } else {
          this.messages.value = messages;
          // Fewer than the later half came back: the page reaches the newest message.
          this.atEnd.value = messages.filter((m) => m.seq >= seq).length < 25;
        }
        this.atStart.value = messages.filter((m) => m.seq < seq).length < 25;
        this.loaded.value = true;
        this.error.value = null;
      });
    } catch (error) {
      say(describeError(error), true);
    }
  }

  /** Loads the page after the newest loaded message (after a jump into older history). */
  async loadNewer(): Promise<void> {
    if (this.loadingNewer.peek() || this.atEnd.peek()) return;
    const newest = this.messages.peek().at(-1);
    if (!newest) return;
    this.loadingNewer.value = true;
    try {
      const { messages } = await api<{ messages: Message[] }>(
        "GET",
        `/rooms/${this.roomId}/messages?after=${newest.seq}&limit=50`,
      );
      batch(() => {
        this.messages.value = merge(this.messages.peek(), messages);
        if (messages.length < 50) this.atEnd.value = true;
      });
    } catch (error) {
      say(describeError(error), true);
    } finally {
      this.loadingNewer.value = false;
    }
  }

  async loadMembers(): Promise<void> {
    try {
      const { members } = await api<{ members: Member[] }>("GET", `/rooms/${this.roomId}/members`);
      this.members.value = members;
      const known = { ...presence.peek() };
      for (const m of members) if (m.presence) known[m.actor.id] = m.presence;
      presence.value = known;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "room_not_found")) say(describeError(error), true);
    }
  }

  async loadPins(): Promise<void> {
    try {
      const { pins } = await api<{ pins: Pin[] }>("GET", `/rooms/${this.roomId}/pins`);
      this.pins.value = pins;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "room_not_found")) say(describeError(error), true);
    }
  }

  /** Applies a `pins` event: a new pin goes first, an unpinned (or deleted) message leaves. */
  applyPin(change: { messageId: string; pinned: boolean; pin?: Pin }): void {
    const list = this.pins.peek();
    if (list == null) return;
    const others = list.filter((p) => p.message.id !== change.messageId);
    this.pins.value = change.pinned && change.pin ? [change.pin, ...others] : others;
  }

  /** Forgets everything loaded (after a resync or a membership change). */
  reset(): void {
    batch(() => {
      this.messages.value = [];
      this.loaded.value = false;
      this.atStart.value = false;
      this.atEnd.value = true;
      this.members.value = null;
      this.pins.value = null;
    });
  }

  /** Takes a message sent or received; `mine` when the reader wrote it (writing in a thread reads it). */
  upsert(message: Message, mine = false): void {
    // A send to a remote room waits as pending until it comes back numbered.
    if (message.pending) return;
    const waiting = this.pending.peek();
    if (waiting.some((p) => p.messageId === message.id)) {
      this.pending.value = waiting.filter((p) => p.messageId !== message.id);
    }
    if (!this.loaded.peek()) return;
    const known = this.messages.peek().some((m) => m.id === message.id);
    // A new reply in a thread is its root's summary update.
    const rootId = message.threadRootId;
    if (!known && rootId) {
      this.patch(rootId, (root) => {
        const before = root.thread;
        const others = (before?.participants ?? []).filter((p) => p.id !== message.author?.id);
        return {
          ...root,
          thread: {
            count: (before?.count ?? 0) + 1,
            lastReplyAt: message.createdAt,
            participants: message.author ? [message.author, ...others].slice(0, 5) : others,
            unread: mine ? 0 : (before?.unread ?? 0) + 1,
          },
        };
      });
    }
    // Away from the newest messages, a new one would sit after a hole: loadNewer brings it.
    const newest = this.messages.peek().at(-1);
    if (!this.atEnd.peek() && newest && message.seq > newest.seq) return;
    this.messages.value = merge(this.messages.peek(), [message]);
  }

  /**
   * Takes the server's answer to one's own send or edit. The stream may have brought the same
   * message first, and later events (its link cards, reactions) patched that copy: the answer
   * replaces a known copy only when it is a later edit of it.
   */
  answered(message: Message): void {
    const known = this.messages.peek().find((m) => m.id === message.id);
    if (known && (message.editedAt ?? "") <= (known.editedAt ?? "")) {
      this.pending.value = this.pending.peek().filter((p) => p.messageId !== message.id);
      return;
    }
    this.upsert(message, true);
  }

  /** Merges messages loaded elsewhere (a thread's replies) into the room's. */
  add(list: Message[]): void {
    this.messages.value = merge(this.messages.peek(), list);
  }

  patch(id: string, change: (message: Message) => Message): void {
    const list = this.messages.peek();
    const i = list.findIndex((m) => m.id === id);
    if (i < 0) return;
    const next = list.slice();
    next[i] = change(list[i] as Message);
    this.messages.value = next;
  }
}

/** Merges two seq-ordered lists of messages; later copies of an id win. */
function merge(a: Message[], b: Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

/** Every room state made so far, by room id. */
export const roomStates = new Map<string, RoomState>();

/** The state of one room, created on first use. */
export function roomState(roomId: string): RoomState {
  let state = roomStates.get(roomId);
  if (!state) {
    state = new RoomState(roomId);
    roomStates.set(roomId, state);
  }
  return state;
}

function newTxnId(): string {
  return crypto.randomUUID();
}

// Sends under way in this tab: one request at a time per message.
const sending = new Set<string>();

/**
 * Sends (or sends again, under its txnId) a pending message. The outbox keeps it until the
 * server has it; a failure that may pass is kept as retryable (the outbox sends it again).
 */
export async function deliver(pending: PendingMessage): Promise<void> {
  if (sending.has(pending.txnId)) return;
  sending.add(pending.txnId);
  const state = roomState(pending.roomId);
  const setPending = (change: Partial<PendingMessage> | null) => {
    state.pending.value = state.pending
      .peek()
      .flatMap((p) => (p.txnId !== pending.txnId ? [p] : change ? [{ ...p, ...change }] : []));
  };
  setPending({ state: "sending", error: undefined });
  let current = pending;
  try {
    // Files kept while the server was away go up first, each kept as uploaded once it is.
    for (const file of pending.files ?? []) {
      const attachment = await upload<Attachment>("/attachments", new File([file.blob], file.name), () => {}).done;
      current = {
        ...current,
        attachments: [...(current.attachments ?? []), attachment],
        files: current.files?.filter((f) => f !== file),
      };
      setPending({ attachments: current.attachments, files: current.files });
      void keepSend(current);
    }
    const message = await api<Message>("PUT", `/rooms/${pending.roomId}/messages/${pending.txnId}`, {
      content: pending.content,
      ...(pending.replyTo ? { replyTo: pending.replyTo.id } : {}),
      ...(current.attachments?.length ? { attachments: current.attachments.map((a) => a.id) } : {}),
      ...(pending.threadRootId ? { threadRootId: pending.threadRootId, alsoInRoom: pending.alsoInRoom === true } : {}),
    });
    void forgetSend(pending.txnId);
    if (message.pending) {
      // A room on another server numbers it; the stream brings it back (see upsert).
      const back = state.messages.peek().some((m) => m.id === message.id);
      setPending(back ? null : { messageId: message.id });
      return;
    }
    batch(() => {
      state.answered(message);
      setPending(null);
    });
  } catch (error) {
    const failure = failureOf(error);
    setPending({ state: "failed", ...failure });
    // Discarded meanwhile: nothing to keep.
    const now = state.pending.peek().find((p) => p.txnId === pending.txnId);
    if (now) void keepSend(now);
  } finally {
    sending.delete(pending.txnId);
  }
}

/**
 * Sends a message optimistically: it shows at once, and retries reuse its txnId. `files` are
 * files that could not be uploaded yet (the server unreachable): they go up before the send.
 */
export function sendMessage(
  roomId: string,
  content: string,
  replyTo: Message | null,
  attachments: Attachment[] = [],
  thread?: { rootId: string; alsoInRoom: boolean },
  files: File[] = [],
): void {
  const pending: PendingMessage = {
    txnId: newTxnId(),
    roomId,
    content,
    attachments,
    replyTo: replyTo
      ? {
          id: replyTo.id,
          seq: replyTo.seq,
          author: replyTo.author,
          snippet: replyTo.content.slice(0, 140),
          deleted: false,
        }
      : null,
    ...(thread ? { threadRootId: thread.rootId, alsoInRoom: thread.alsoInRoom } : {}),
    ...(files.length ? { files: files.map((f) => ({ name: f.name, size: f.size, blob: f })) } : {}),
    state: "sending",
    createdAt: new Date().toISOString(),
  };
  const state = roomState(roomId);
  state.pending.value = [...state.pending.peek(), pending];
  // Kept before it goes: a reload or a crash during the send loses nothing.
  void keepSend(pending).then(() => deliver(pending));
}

/** Sends a failed message again under the same transaction id (the server never duplicates). */
export function retrySend(pending: PendingMessage): void {
  void deliver(pending);
}

export function discardSend(pending: PendingMessage): void {
  void forgetSend(pending.txnId);
  const state = roomState(pending.roomId);
  state.pending.value = state.pending.peek().filter((p) => p.txnId !== pending.txnId);
}
