/**
 * Group commit of relayed messages (issue 14): messages that mirrors' rooms relay are written
 * many per transaction (`storeRelayedMessages`), and each delivery is answered once its
 * message is committed, so a 202 still means stored. Batches are filled in turn from each
 * sending server's queue, and a server may have only so many waiting, so one noisy server
 * neither starves the others nor grows memory without bound.
 * @module
 */

import { isDatabaseUnavailable } from "../src/db/errors.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import {
  type RelayedBatch,
  type RelayedMessage,
  type RelayedOutcome,
  storeRelayedMessages,
} from "../src/messages/relayed.ts";

interface Waiting {
  readonly roomId: string;
  readonly item: RelayedMessage;
  readonly resolve: (outcome: RelayedOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Called after a room's batch is committed (to wait for gaps the numbers show). */
export type AfterBatch = (roomId: string, items: readonly RelayedMessage[], batch: RelayedBatch) => void;

/** What writes one room's batch: {@link storeRelayedMessages}, or a stand-in in tests. */
export type BatchWriter = (deps: Deps, roomId: string, items: readonly RelayedMessage[]) => Promise<RelayedBatch>;

/** Writes relayed messages in batches, fair between sending servers. */
export class RelayBatcher {
  readonly #deps: Deps;
  readonly #after: AfterBatch;
  readonly #writer: BatchWriter;
  readonly #maxBatch: number;
  readonly #maxWaitingPerSender: number;
  /** Waiting messages by sending server, in the order servers take their turns. */
  readonly #queues = new Map<string, Waiting[]>();
  #writing = false;
  #scheduled = false;
  /** Batches written and messages in them (for the benchmark). */
  batches = 0;
  messages = 0;

  /**
   * @param options `maxBatch`: messages one transaction writes at most; `maxWaitingPerSender`:
   *   messages one server may have waiting (past it, 503); `writer`: what writes a batch.
   */
  constructor(
    deps: Deps,
    after: AfterBatch,
    options: { maxBatch?: number; maxWaitingPerSender?: number; writer?: BatchWriter } = {},
  ) {
    const { maxBatch = 128, maxWaitingPerSender = 256, writer = storeRelayedMessages } = options;
    this.#deps = deps;
    this.#after = after;
    this.#writer = writer;
    this.#maxBatch = maxBatch;
    this.#maxWaitingPerSender = maxWaitingPerSender;
  }

  /**
   * Queues a message for its room; resolves once it is committed (or known, or replayed).
   * @throws {AppError} `busy` when the sender has too much waiting already.
   */
  store(sender: string, roomId: string, item: RelayedMessage): Promise<RelayedOutcome> {
    const queue = this.#queues.get(sender) ?? [];
    if (queue.length >= this.#maxWaitingPerSender) {
      return Promise.reject(
        new AppError("busy", "Too many deliveries are waiting; try again later.", { headers: { "Retry-After": "30" } }),
      );
    }
    this.#queues.set(sender, queue);
    return new Promise((resolve, reject) => {
      queue.push({ roomId, item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    // Deliveries checked in the same turn of the event loop go together even when idle.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  /** The next batch: one message from each server in turn, until full or nothing waits. */
  #take(): Waiting[] {
    const batch: Waiting[] = [];
    while (batch.length < this.#maxBatch && this.#queues.size > 0) {
      for (const [sender, queue] of this.#queues) {
        const next = queue.shift();
        // The server goes to the back of the line, or leaves it.
        this.#queues.delete(sender);
        if (queue.length > 0) this.#queues.set(sender, queue);
        if (next) batch.push(next);
        if (batch.length >= this.#maxBatch) break;
      }
    }
    return batch;
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (let batch = this.#take(); batch.length > 0; batch = this.#take()) {
        const byRoom = new Map<string, Waiting[]>();
        for (const waiting of batch) byRoom.set(waiting.roomId, [...(byRoom.get(waiting.roomId) ?? []), waiting]);
        for (const [roomId, list] of byRoom) await this.#write(roomId, list);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(roomId: string, list: Waiting[]): Promise<void> {
    const items = list.map((w) => w.item);
    let batch: RelayedBatch;
    try {
      batch = await this.#writer(this.#deps, roomId, items);
    } catch (error) {
      // One bad message must not fail the others: they are tried one at a time.
      if (list.length === 1 || isDatabaseUnavailable(error)) {
        for (const waiting of list) waiting.reject(error);
        return;
      }
      for (const waiting of list) await this.#write(roomId, [waiting]);
      return;
    }
    this.batches++;
    this.messages += list.length;
    for (const [i, waiting] of list.entries()) waiting.resolve(batch.outcomes[i] ?? "known");
    this.#after(roomId, items, batch);
  }
}
