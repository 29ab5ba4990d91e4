/**
 * The process's link preview worker: fetches cards in the background, after a send commits or
 * when a page of history shows links the cache lacks, and tells the room when a message's
 * cards are ready (`message.previews`). Fetches of one URL are coalesced (one in flight per
 * process), at most {@link maxConcurrentFetches} run at once and at most {@link maxQueuedFetches}
 * wait; a read starts at most {@link maxFetchesPerRead}. Whatever is not started now is asked
 * for again by a later read. Nothing here ever delays or fails the request that caused it.
 * @module
 */
import { inArray } from "drizzle-orm";
import { type Message, messages } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logger } from "../log.ts";
import { appendEvents } from "../stream/events.ts";
import { eligibleLinks, freshUrls, previewCards, seesPreviews } from "./cards.ts";
import { fetchPreview } from "./fetch.ts";

const log = logger("previews");

/** Fetches running at once in one process. */
export const maxConcurrentFetches = 4;
/** Fetches waiting for a turn; past this, a link waits for a later read. */
export const maxQueuedFetches = 256;
/** New fetches one page of history may start. */
export const maxFetchesPerRead = 10;

/** One per process (`deps.previews`). */
export class LinkPreviewer {
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #queue: (() => void)[] = [];
  #running = 0;
  readonly #jobs = new Set<Promise<void>>();

  /**
   * After a local send or edit has committed: fetches the message's missing cards, then tells
   * the room (also when every card was cached already, since the send's own event had none).
   */
  afterSend(deps: Deps, message: Message): void {
    this.#track(this.#prepare(deps, [message], { announceCached: true, maxFetches: Number.POSITIVE_INFINITY }));
  }

  /**
   * After a page of history was read: starts fetches for the links whose cards are missing or
   * expired (messages from other servers get theirs this way, never at inbox time), and tells
   * the room of each message whose cards arrive. A reader who turned cards off causes none.
   */
  afterRead(deps: Deps, list: readonly Message[], readerId: string): void {
    if (!list.some((m) => m.html.includes("<a "))) return;
    this.#track(
      (async () => {
        if (!(await seesPreviews(deps, readerId))) return;
        await this.#prepare(deps, list, { announceCached: false, maxFetches: maxFetchesPerRead });
      })(),
    );
  }

  /** Resolves once no fetch or announcement is left (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  #track(job: Promise<void>): void {
    const tracked = job.catch((error) => log.warn("Link previews failed: {error}", { error }));
    this.#jobs.add(tracked);
    void tracked.finally(() => this.#jobs.delete(tracked));
  }

  async #prepare(
    deps: Deps,
    list: readonly Message[],
    options: { announceCached: boolean; maxFetches: number },
  ): Promise<void> {
    const links = await eligibleLinks(deps, list);
    if (links.size === 0) return;
    const fresh = await freshUrls(deps, [...new Set([...links.values()].flat())]);
    let budget = options.maxFetches;
    const waits: Promise<void>[] = [];
    for (const [messageId, urls] of links) {
      const missing = urls.filter((url) => !fresh.has(url));
      if (missing.length === 0) {
        if (options.announceCached) waits.push(this.#announce(deps, messageId));
        continue;
      }
      const fetches = missing.flatMap((url) => {
        const running = this.#inFlight.get(url);
        if (running) return [running];
        if (budget <= 0 || this.#queue.length >= maxQueuedFetches) return [];
        budget--;
        return [this.#fetch(deps, url)];
      });
      if (fetches.length === 0) continue;
      waits.push(
        Promise.all(fetches).then(async (done) => {
          if (done.some(Boolean)) await this.#announce(deps, messageId);
        }),
      );
    }
    await Promise.all(waits);
  }

  /** One coalesced, bounded fetch. */
  #fetch(deps: Deps, url: string): Promise<boolean> {
    const run = async () => {
      if (this.#running >= maxConcurrentFetches) await new Promise<void>((go) => this.#queue.push(go));
      this.#running++;
      try {
        return await fetchPreview(deps, url);
      } finally {
        this.#running--;
        this.#queue.shift()?.();
      }
    };
    const pending = run().finally(() => this.#inFlight.delete(url));
    this.#inFlight.set(url, pending);
    return pending;
  }

  /** Tells the room a message's cards (read again now: it may have been edited or deleted meanwhile). */
  async #announce(deps: Deps, messageId: string): Promise<void> {
    const [message] = await deps.db
      .select()
      .from(messages)
      .where(inArray(messages.id, [messageId]));
    if (message == null) return;
    const cards = (await previewCards(deps, [message], null)).get(message.id) ?? [];
    if (cards.length === 0) return;
    await deps.db.transaction(async (tx) => {
      await appendEvents(tx, [
        { type: "message.previews", roomId: message.roomId, data: { messageId: message.id, previews: cards } },
      ]);
    });
  }
}
