import { sql } from "drizzle-orm";
import { builtOnce, type DatabaseLike } from "../db/client.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import type { ActorProfile } from "../rooms/actors.ts";
import type { MessageView } from "./views.ts";

/** One send, ready to write: checked, rendered, and with its view but for the number. */
export interface PreparedSend {
  /** The new message's id (UUIDv7). */
  readonly id: string;
  readonly roomId: string;
  readonly authorId: string;
  readonly txnId: string;
  readonly content: string;
  readonly html: string;
  readonly replyTo: string | null;
  /** The root of the thread it replies in, or null on the main timeline. */
  readonly threadRootId: string | null;
  readonly alsoInRoom: boolean;
  /** ISO 8601; the message's `created_at`. */
  readonly createdAt: string;
  /** Uploads of the author that the message takes. */
  readonly attachments: readonly string[];
  /** Local actors the message mentions. */
  readonly mentioned: readonly string[];
  /** The author of the message answered, unless it is deleted. */
  readonly replyAuthor: string | null;
  readonly direct: boolean;
  /** What notifications of the message show. */
  readonly snippet: string;
  /** The author as notifications show them. */
  readonly author: ActorProfile | null;
  readonly view: Omit<MessageView, "seq">;
}

/** What became of a send. */
export type SendOutcome =
  | { readonly outcome: "created"; readonly seq: number }
  /** An earlier send with the same txnId made this message. */
  | { readonly outcome: "retried"; readonly id: string }
  /** The room is gone, or the author is not a member (any more). */
  | { readonly outcome: "not_a_member" }
  /** Some of the attachments are no longer free uploads of the author. */
  | { readonly outcome: "attachments_taken" };

interface Waiting {
  readonly send: PreparedSend;
  readonly resolve: (outcome: SendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** At most this many sends share a statement. */
export const maxBatch = 128;

/**
 * Group commit of sends (issue 13). Every send of this process goes through one queue; while a
 * batch is being written, the sends that arrive wait and then go together in the next one, in
 * a single statement (`fedchat_send_messages`, migrations/0010_send_batch.sql, redefined by the threads migration) that numbers and
 * writes them with their read markers, mentions, notifications and events, and one NOTIFY. An
 * idle server writes each send at once; a busy one writes as many per round trip as arrived
 * during the last, so the cost of a send falls as load grows instead of the room's lock
 * becoming the limit.
 *
 * A batch that fails for a reason other than the database being unreachable is retried one
 * send at a time, so one bad send cannot fail the others.
 */
export class SendBatcher {
  readonly #db: DatabaseLike;
  #queue: Waiting[] = [];
  #writing = false;
  #scheduled = false;
  /** Statements written, and sends in them (for the benchmark's statements per send). */
  statements = 0;
  sends = 0;

  constructor(db: DatabaseLike) {
    this.#db = db;
  }

  /** Queues a send; resolves once it is committed (or known to be a retry, or refused). */
  send(send: PreparedSend): Promise<SendOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ send, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    // Sends parsed in the same turn of the event loop go together even when idle.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, maxBatch);
        await this.#writeBatch(batch);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #writeBatch(batch: Waiting[]): Promise<void> {
    let outcomes: SendOutcome[];
    try {
      outcomes = await this.#write(batch.map((w) => w.send));
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      for (const waiting of batch) await this.#writeBatch([waiting]);
      return;
    }
    batch.forEach((waiting, i) => {
      const outcome = outcomes[i];
      if (outcome) waiting.resolve(outcome);
      else waiting.reject(new Error("A batched send got no answer."));
    });
  }

  async #write(sends: readonly PreparedSend[]): Promise<SendOutcome[]> {
    const items = sends.map((send, i) => ({ i, ...send }));
    this.statements++;
    this.sends += sends.length;
    const rows = await batchStatement(this.#db).execute({ batch: JSON.stringify(items) });
    const outcomes: SendOutcome[] = [];
    for (const row of rows) {
      const i = Number(row.idx);
      if (row.outcome === "created") outcomes[i] = { outcome: "created", seq: Number(row.seq) };
      else if (row.outcome === "retried") outcomes[i] = { outcome: "retried", id: String(row.id) };
      else if (row.outcome === "attachments_taken") outcomes[i] = { outcome: "attachments_taken" };
      else outcomes[i] = { outcome: "not_a_member" };
    }
    return outcomes;
  }
}

/** The batch's one statement, prepared: a call is one round trip, never parsed or planned again. */
const batchStatement = builtOnce((db) =>
  db
    .select({
      idx: sql<number>`r_idx`,
      id: sql<string | null>`r_id`,
      seq: sql<string | number | null>`r_seq`,
      outcome: sql<string>`r_outcome`,
    })
    .from(sql`fedchat_send_messages(${sql.placeholder("batch")}::jsonb)`)
    .prepare("fedchat_send_messages"),
);
