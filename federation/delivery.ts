/**
 * Delivery streams (issue 14): what rooms here publish reaches each destination inbox through
 * a stream of its own, in order. The publisher writes each activity once to the outbox, with
 * its inboxes (src/delivery/streams.ts); here each process leases streams that have work,
 * sends their activities with several requests in flight, and moves their positions on.
 *
 * - **Order.** A stream sends in outbox order. While a destination is failing, one request is
 *   in flight (a probe); after a failure nothing later is started, and the stream waits out
 *   its backoff and starts again from the first undelivered activity.
 * - **Fairness.** Each stream has at most {@link maxInFlight} requests out; a process drives
 *   at most {@link maxStreams} streams. A dead or slow server holds its own stream only.
 * - **Backoff per destination**, doubling from 1 s to 6 h; activities are kept four days.
 * - **Crash recovery.** Leases last {@link leaseMs} and are renewed (with the positions
 *   reached) every third of that, so another process takes a dead one's streams over within
 *   seconds; a renewal missed by a crash may deliver a few activities twice, which receivers
 *   drop by id.
 * @module
 */

import { randomUUID } from "node:crypto";
import { SpanKind, SpanStatusCode, type Tracer, type TracerProvider } from "@opentelemetry/api";
import type { DatabaseHandle } from "../src/db/client.ts";
import type { DeliveryStream } from "../src/db/schema.ts";
import {
  claimStreams,
  deliveryChannel,
  type OutboxItem,
  releaseStream,
  renewLeases,
  type StreamProgress,
  streamItems,
} from "../src/delivery/streams.ts";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { software } from "../src/version.ts";
import { cavage, DeliverySender, rfc9421, type SignatureSpec } from "./delivery-send.ts";
import { dropUnreachableMembers } from "./remote.ts";

const log = logger("delivery");

/** Requests in flight to one destination at most. */
export const maxInFlight = 8;
/** Streams one process drives at once at most. */
export const maxStreams = 256;
/** How long a lease lasts unless renewed. */
export const leaseMs = 6_000;
/** Each this many milliseconds a delivery takes allows one more request in flight. */
const farMs = 100;
/** Activities read at a time for one stream. */
const readSize = 64;
/** A stream with nothing to send is let go after this long. */
const idleMs = 30_000;
/** Backoff after the n-th failure in a row: 1 s doubling to 6 h, with ±10% jitter. */
export function backoffMs(failures: number): number {
  const base = Math.min(6 * 60 * 60 * 1000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

interface Held {
  readonly inbox: string;
  /** How long deliveries take here lately (a moving average, ms). */
  latencyMs: number;
  position: number;
  queued: number;
  failures: number;
  spec: SignatureSpec | null;
  delivered: boolean;
  /** Its pipeline, while it runs. */
  running: Promise<void> | undefined;
  /** More was queued while it ran. */
  again: boolean;
  /** Wakes a running stream waiting for a free slot, when more is queued. */
  wake: (() => void) | undefined;
  idleSince: number;
  /** When its lease was last taken or renewed. */
  renewedAt: number;
  /** How long the destination asked us to wait after its last refusal (`Retry-After`), if it did. */
  retryAfterMs?: number | undefined;
}

/**
 * How many requests a stream keeps out: one while the destination fails or its signature
 * scheme is not known, and one to a server that answers quickly (requests on parallel
 * connections can overtake each other, and one at a time keeps up with a fast server);
 * more, up to {@link maxInFlight}, the longer its answers take, so that a distant server keeps
 * up with a busy room. The receiver puts what overtook back in order by number.
 */
function inFlightFor(held: Held): number {
  if (held.failures > 0 || held.spec == null) return 1;
  return Math.min(maxInFlight, Math.max(1, Math.ceil(held.latencyMs / farMs)));
}

function progressOf(held: Held): StreamProgress {
  return { inbox: held.inbox, position: held.position, signatureSpec: held.spec, delivered: held.delivered };
}

/** This process's delivery worker. */
export class DeliveryWorker {
  readonly #deps: Deps;
  readonly #sender: DeliverySender;
  readonly #owner = `${process.pid}-${randomUUID()}`;
  readonly #held = new Map<string, Held>();
  /** How long each destination's deliveries took lately, kept while its stream is let go. */
  readonly #latency = new Map<string, number>();
  readonly #abort = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewer: ReturnType<typeof setInterval> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #filling: Promise<void> | undefined;
  #fillAgain = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  readonly #tracer: Tracer | undefined;

  /** @param tracerProvider Where each delivery's span goes, when traces are on (see tracing.ts). */
  constructor(deps: Deps, groupIri: (roomId: string) => URL, tracerProvider?: TracerProvider) {
    this.#deps = deps;
    this.#sender = new DeliverySender(deps, groupIri);
    this.#tracer = tracerProvider?.getTracer(software.name, software.version);
  }

  /** Starts: at once on every NOTIFY that something was queued, and every `pollMs` anyway. */
  async start(database: DatabaseHandle, pollMs = 1000): Promise<void> {
    this.#unlisten = await database.listen(deliveryChannel, () => this.kick());
    this.#timer = setInterval(() => this.kick(), pollMs);
    this.#renewer = setInterval(() => {
      // Streams that learnt of more while waiting on their pipeline are woken.
      void this.#renew().then((grown) => {
        for (const h of grown) this.#run(h);
      });
    }, leaseMs / 3);
    this.kick();
  }

  /** Lets go of everything: in-flight requests are cancelled and positions written back. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#renewer);
    await this.#unlisten?.().catch(() => {});
    this.#abort.abort();
    await this.#filling;
    await Promise.all([...this.#held.values()].map((h) => h.running));
    await this.#writeBack(true).catch((error) => log.warn("Releasing delivery streams failed: {error}", { error }));
  }

  /** Looks for work: new due streams, and more for the ones held. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#filling) {
      this.#fillAgain = true;
      return;
    }
    this.#filling = this.#fill()
      .catch((error) => log.warn("Claiming delivery streams failed: {error}", { error }))
      .finally(() => {
        this.#filling = undefined;
        if (this.#fillAgain) {
          this.#fillAgain = false;
          this.kick();
        }
      });
  }

  async #fill(): Promise<void> {
    // The held streams learn what was queued for them (the renewal answers `queued`); those
    // with more to do than they knew are woken, not the others.
    const grown = this.#held.size > 0 ? await this.#renew() : new Set<Held>();
    const claimed = await claimStreams(this.#deps.db, this.#owner, maxStreams - this.#held.size, leaseMs);
    for (const row of claimed) grown.add(this.#hold(row));
    for (const held of this.#held.values()) {
      if (grown.has(held) || (held.running == null && held.queued > held.position)) this.#run(held);
    }
  }

  #hold(row: DeliveryStream): Held {
    const known = this.#held.get(row.inbox);
    if (known) {
      known.queued = Math.max(known.queued, row.queued);
      known.renewedAt = Date.now();
      return known;
    }
    const held: Held = {
      inbox: row.inbox,
      position: row.position,
      queued: row.queued,
      failures: row.failures,
      spec: row.signatureSpec === rfc9421 || row.signatureSpec === cavage ? row.signatureSpec : null,
      latencyMs: this.#latency.get(row.inbox) ?? 0,
      delivered: false,
      running: undefined,
      again: false,
      wake: undefined,
      idleSince: Date.now(),
      renewedAt: Date.now(),
    };
    this.#held.set(row.inbox, held);
    return held;
  }

  #run(held: Held): void {
    if (held.running) {
      held.again = true;
      held.wake?.();
      return;
    }
    held.running = this.#drive(held)
      .catch((error) => log.warn("Delivering to {inbox} failed: {error}", { inbox: held.inbox, error }))
      .finally(() => {
        held.running = undefined;
        if (held.again && this.#held.has(held.inbox) && !this.#stopped) {
          held.again = false;
          this.#run(held);
        }
      });
  }

  /**
   * Sends what a held stream has, in order, as a pipeline: as many requests out as
   * {@link inFlightFor} allows, the next activities read as soon as a slot is free and more was
   * queued (a message never waits for a whole round before it), and the position moved over
   * every activity delivered or skipped in a row. After a failure nothing more is started; once
   * what is out has come back, the stream is let go with its backoff.
   */
  async #drive(held: Held): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    /** Positions sent, in order, with what came of each (undefined while out, null if done). */
    const sent: { position: number; failure: string | null | undefined }[] = [];
    let buffer: OutboxItem[] = [];
    let launched = held.position;
    let failure: string | undefined;
    let exhausted = false;
    /** Whether what is out must travel alone. */
    let alone = false;
    // A lease not renewed in time may be another process's by now (a stalled database): stop.
    const current = () =>
      !this.#stopped && this.#held.get(held.inbox) === held && Date.now() - held.renewedAt < leaseMs - 1000;
    while (current()) {
      if (failure == null && buffer.length === 0 && inFlight.size < inFlightFor(held) && !exhausted) {
        held.again = false;
        // Known before the read: everything queued up to here is committed, so the read sees it.
        const queued = held.queued;
        buffer = await streamItems(this.#deps.db, held.inbox, launched, readSize);
        if (buffer.length === 0) {
          exhausted = true;
          // Whatever was queued up to here has been sent, is out, or expired from the outbox.
          launched = Math.max(launched, queued);
        }
      }
      while (failure == null && buffer.length > 0 && inFlight.size < inFlightFor(held)) {
        // Only new messages share the wire (receivers put them in order by number): anything
        // else goes alone, after what is out and before what follows.
        if (inFlight.size > 0 && (alone || !(buffer[0] as OutboxItem).reorderable)) break;
        const item = buffer.shift() as OutboxItem;
        launched = item.position;
        alone = !item.reorderable;
        const entry: (typeof sent)[number] = { position: item.position, failure: undefined };
        sent.push(entry);
        const request = this.#deliverOne(held, item).then((outcome) => {
          entry.failure = outcome ?? null;
          if (outcome != null) failure ??= outcome;
          if (!item.reorderable) alone = false;
          inFlight.delete(request);
        });
        inFlight.add(request);
      }
      held.idleSince = Date.now();
      if (inFlight.size === 0) {
        if (failure != null) break;
        if (exhausted) {
          held.position = Math.max(held.position, launched);
          await this.#caughtUp(held);
          return;
        }
        continue;
      }
      // A slot frees, or more is queued.
      await Promise.race([...inFlight, new Promise<void>((resolve) => (held.wake = resolve))]);
      held.wake = undefined;
      if (held.again) exhausted = false;
      while (sent.length > 0 && sent[0]?.failure === null)
        held.position = (sent.shift() as (typeof sent)[number]).position;
    }
    // Stopping cancels what is out: not a failure of the destination.
    if (this.#stopped || failure == null || this.#held.get(held.inbox) !== held) return;
    held.failures++;
    this.#held.delete(held.inbox);
    // The backoff, or longer when the destination said when to come back.
    const delayMs = Math.max(backoffMs(held.failures), held.retryAfterMs ?? 0);
    held.retryAfterMs = undefined;
    await releaseStream(this.#deps.db, this.#owner, progressOf(held), {
      failures: held.failures,
      delayMs,
      error: failure,
    });
    log.info("Delivery to {inbox} failed ({error}); trying again after failure {failures}.", {
      inbox: held.inbox,
      error: failure,
      failures: held.failures,
    });
  }

  /**
   * Lets go of a stream that has sent everything, writing its position (a stream that has
   * caught up shows it, a crash now repeats nothing, and its slot goes to a stream that waits:
   * a busy process never holds idle streams while others starve). Something queued meanwhile
   * is claimed again at once.
   */
  async #caughtUp(held: Held): Promise<void> {
    this.#held.delete(held.inbox);
    const queued = await releaseStream(this.#deps.db, this.#owner, progressOf(held));
    if (queued != null && queued > held.position) this.kick();
  }

  /** One delivery; answers why the stream must stop, if it must (undefined: delivered or skipped). */
  async #deliverOne(held: Held, item: OutboxItem): Promise<string | undefined> {
    const started = performance.now();
    const result =
      this.#tracer == null
        ? await this.#sender.deliver(held.inbox, item, held.spec, this.#abort.signal)
        : await this.#tracer.startActiveSpan("fedchat.deliver", { kind: SpanKind.CLIENT }, async (span) => {
            span.setAttribute("activitypub.inbox.url", held.inbox);
            span.setAttribute("fedchat.outbox.position", item.position);
            try {
              const outcome = await this.#sender.deliver(held.inbox, item, held.spec, this.#abort.signal);
              span.setAttribute("fedchat.delivery.outcome", outcome.kind);
              if (outcome.kind !== "ok") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
              return outcome;
            } finally {
              span.end();
            }
          });
    const elapsed = performance.now() - started;
    held.latencyMs = 0.8 * held.latencyMs + 0.2 * elapsed;
    this.#deps.metrics.deliveries.inc({ outcome: result.kind });
    this.#deps.metrics.deliveryDuration.observe(elapsed / 1000);
    if (this.#latency.size >= 10_000) this.#latency.clear();
    this.#latency.set(held.inbox, held.latencyMs);
    if (result.kind === "ok") {
      held.spec = result.spec;
      held.delivered = true;
      held.failures = 0;
      return undefined;
    }
    if (result.kind === "retry") {
      if (result.retryAfterMs != null) held.retryAfterMs = Math.max(held.retryAfterMs ?? 0, result.retryAfterMs);
      return result.error;
    }
    if (result.kind === "gone") await this.#gone(held.inbox, item, result.error);
    else
      log.info("{inbox} refused event {position}: {error}", { inbox: held.inbox, position: item.position, ...result });
    return undefined;
  }

  /** An inbox that is gone: the room's members that use it leave; the stream goes on. */
  async #gone(inbox: string, item: OutboxItem, error: string): Promise<void> {
    log.info("{inbox} is gone ({error}): its members leave room {room}.", { inbox, error, room: item.roomId });
    await dropUnreachableMembers(this.#deps, item.roomId, new URL(inbox)).catch((e) =>
      log.warn("Removing unreachable members failed: {error}", { error: e }),
    );
  }

  /**
   * Renews the leases (writing the positions reached) and lets idle streams go; answers the
   * streams that learnt of more queued.
   */
  async #renew(): Promise<Set<Held>> {
    if (this.#stopped || this.#held.size === 0) return new Set();
    try {
      return await this.#writeBack(false);
    } catch (error) {
      log.warn("Renewing delivery leases failed: {error}", { error });
      return new Set();
    }
  }

  /**
   * Writes every held stream's position back and renews its lease, in one statement; streams
   * idle for {@link idleMs} (and all of them, on `release`) are let go, in one more. A stream
   * whose lease was lost (another process took it over) is dropped here.
   */
  async #writeBack(release: boolean): Promise<Set<Held>> {
    const now = Date.now();
    const held = [...this.#held.values()];
    const letGo = held.filter(
      (h) => release || (h.running == null && h.queued <= h.position && now - h.idleSince > idleMs),
    );
    const keep = held.filter((h) => !letGo.includes(h));
    for (const h of letGo) if (this.#held.get(h.inbox) === h) this.#held.delete(h.inbox);
    await Promise.all(letGo.map((h) => releaseStream(this.#deps.db, this.#owner, progressOf(h))));
    const grown = new Set<Held>();
    if (keep.length === 0) return grown;
    const asked = Date.now();
    const still = await renewLeases(this.#deps.db, this.#owner, keep.map(progressOf), leaseMs);
    for (const h of keep) {
      const queued = still.get(h.inbox);
      if (queued == null) {
        if (this.#held.get(h.inbox) === h) this.#held.delete(h.inbox);
        continue;
      }
      h.renewedAt = asked;
      h.delivered = false;
      if (queued > h.queued) {
        h.queued = queued;
        grown.add(h);
      }
    }
    return grown;
  }
}
