import { AppError } from "../src/errors.ts";

/** Lets pending I/O (a health probe, other requests) run before the next piece of heavy work. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A work budget for what other servers send: at most `concurrency` tasks at once (verifying and
 * parsing an activity is CPU work that does not yield to other requests while it runs), the
 * rest waiting in one queue per sender, served in turn, so that one noisy server cannot starve
 * the others. Past the waiting limits, new work is refused with 503 and `Retry-After` (senders
 * retry: Mastodon, Fedify and the rest treat 503 as "later").
 */
export class WorkGate {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #maxWaitingPerSender: number;
  #running = 0;
  #waiting = 0;
  /** Waiting tasks by sender, in the order senders take their turns. */
  readonly #queues = new Map<string, (() => void)[]>();

  /**
   * @param concurrency Tasks that may run at once.
   * @param maxWaiting Tasks that may wait in all.
   * @param maxWaitingPerSender Tasks one sender may have waiting.
   */
  constructor(concurrency: number, maxWaiting = 500, maxWaitingPerSender = 50) {
    this.#concurrency = Math.max(1, concurrency);
    this.#maxWaiting = maxWaiting;
    this.#maxWaitingPerSender = maxWaitingPerSender;
  }

  /** Tasks running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting };
  }

  /**
   * Runs `task` for `sender` once it is its turn.
   * @throws {AppError} `busy` when too much is waiting already.
   */
  async run<T>(sender: string, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#concurrency && this.#waiting === 0) {
      this.#running++;
    } else {
      const queue = this.#queues.get(sender) ?? [];
      if (this.#waiting >= this.#maxWaiting || queue.length >= this.#maxWaitingPerSender) {
        throw new AppError("busy", "Too many deliveries are waiting; try again later.", {
          headers: { "Retry-After": "30" },
        });
      }
      this.#waiting++;
      this.#queues.set(sender, queue);
      // #release hands its running slot straight to this task.
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    try {
      await yieldToIo();
      return await task();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    for (const [sender, queue] of this.#queues) {
      const next = queue.shift();
      // The sender goes to the back of the line, or leaves it.
      this.#queues.delete(sender);
      if (queue.length > 0) this.#queues.set(sender, queue);
      if (next) {
        this.#waiting--;
        next();
        return;
      }
    }
    this.#running--;
  }
}
