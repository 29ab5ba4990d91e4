// What the peers received, against what was sent: lost, duplicated, out of order, latencies.
import { report } from "../support.ts";
import type { Peer } from "./peers.ts";

/** When each message was sent (the API call made), by `<room id>/<seq>`. */
export type SentTimes = ReadonlyMap<string, number>;

/** The integrity of what one or more peers received. */
export interface Tally {
  /** Deliveries expected: messages sent times peers. */
  readonly expected: number;
  /** Messages received at least once, over the peers. */
  readonly received: number;
  readonly lost: number;
  /** Deliveries of a message a peer already had. */
  readonly duplicates: number;
  /**
   * First arrivals of a message after a later message of the same room had arrived at that
   * peer, in the order the requests came in. Repeats are counted as duplicates, not here.
   */
  readonly outOfOrder: number;
  /**
   * Of those, the ones that came 10 ms or more after the later message: not two requests on
   * two connections racing (which one a busy receiver reads first is chance).
   */
  readonly outOfOrderBy10Ms: number;
  /** Requests whose HTTP signature did not verify. */
  readonly rejected: number;
}

/** A message that arrived after a later one of its room: `seq` came `ms` after `after` had. */
export interface Inversion {
  readonly peer: string;
  readonly seq: number;
  readonly after: number;
  readonly ms: number;
}

/** Walks a peer's arrivals in the order they came in: the duplicates and the inversions. */
function walk(peer: Peer): { duplicates: number; inversions: Inversion[] } {
  const seen = new Set<string>();
  const highest = new Map<string, { seq: number; at: number }>();
  let duplicates = 0;
  const inversions: Inversion[] = [];
  for (const arrival of [...peer.received].sort((a, b) => a.order - b.order)) {
    if (seen.has(arrival.key)) {
      duplicates++;
      continue;
    }
    seen.add(arrival.key);
    const top = highest.get(arrival.room);
    if (top != null && arrival.seq < top.seq) {
      inversions.push({ peer: peer.name, seq: arrival.seq, after: top.seq, ms: arrival.at - top.at });
    } else highest.set(arrival.room, { seq: arrival.seq, at: arrival.at });
  }
  return { duplicates, inversions };
}

function tallyOne(peer: Peer, sent: SentTimes): Tally {
  let received = 0;
  for (const key of sent.keys()) if (peer.firsts.has(key)) received++;
  const { duplicates, inversions } = walk(peer);
  return {
    expected: sent.size,
    received,
    lost: sent.size - received,
    duplicates,
    outOfOrder: inversions.length,
    outOfOrderBy10Ms: inversions.filter((i) => i.ms >= 10).length,
    rejected: peer.rejected,
  };
}

/** The first few inversions at these peers, as evidence: `peer: seq 12 after 14 (+1 ms)`. */
export function inversionExamples(peers: readonly Peer[], limit = 5): string {
  return peers
    .flatMap((peer) => walk(peer).inversions)
    .slice(0, limit)
    .map((i) => `${i.peer}: ${i.seq} after ${i.after} (+${i.ms} ms)`)
    .join(", ");
}

/** The tallies of several peers, summed. */
export function tally(peers: readonly Peer[], sent: SentTimes): Tally {
  const sum = { expected: 0, received: 0, lost: 0, duplicates: 0, outOfOrder: 0, outOfOrderBy10Ms: 0, rejected: 0 };
  for (const peer of peers) {
    const one = tallyOne(peer, sent);
    for (const field of Object.keys(sum) as (keyof Tally)[]) sum[field] += one[field];
  }
  return sum;
}

/** Whether every peer has every message sent. */
export function complete(peers: readonly Peer[], sent: SentTimes): boolean {
  return peers.every((peer) => [...sent.keys()].every((key) => peer.firsts.has(key)));
}

/** Per message a peer has: its arrival minus its send time, in ms. */
export function latencies(peer: Peer, sent: SentTimes): number[] {
  const values: number[] = [];
  for (const [key, at] of sent) {
    const arrived = peer.firsts.get(key);
    if (arrived != null) values.push(arrived - at);
  }
  return values;
}

/** Per message every peer has: how long until the last of them had it, in ms. */
export function lastPeerLatencies(peers: readonly Peer[], sent: SentTimes): number[] {
  const values: number[] = [];
  for (const [key, at] of sent) {
    const arrivals = peers.map((peer) => peer.firsts.get(key));
    if (arrivals.every((a) => a != null)) values.push(Math.max(...(arrivals as number[])) - at);
  }
  return values;
}

/** When the last of these peers got the last of the messages; NaN if one is missing. */
export function lastArrival(peers: readonly Peer[], sent: SentTimes): number {
  let last = Number.NEGATIVE_INFINITY;
  for (const peer of peers) {
    for (const key of sent.keys()) {
      const at = peer.firsts.get(key);
      if (at == null) return Number.NaN;
      last = Math.max(last, at);
    }
  }
  return last;
}

/**
 * Prints what these peers received of what was sent: sent, received, lost, duplicated, out of
 * order (with the first few inversions), and signatures that did not verify if any.
 */
export function reportTally(prefix: string, peers: readonly Peer[], sent: SentTimes): Tally {
  const t = tally(peers, sent);
  report(`${prefix}: sent`, sent.size, `messages, ${t.expected} deliveries expected`);
  report(`${prefix}: received`, t.received, "deliveries");
  report(`${prefix}: lost`, t.lost, "deliveries");
  report(`${prefix}: duplicated`, t.duplicates, "deliveries");
  report(`${prefix}: out of order`, t.outOfOrder, "deliveries");
  if (t.outOfOrder > 0) report(`${prefix}: out of order by 10 ms or more`, t.outOfOrderBy10Ms, "deliveries");
  if (t.outOfOrder > 0) process.stdout.write(`${prefix}: out of order, first: ${inversionExamples(peers)}\n`);
  if (t.rejected > 0) report(`${prefix}: signatures that did not verify`, t.rejected, "requests");
  return t;
}

/** Prints `value` ms, or "never" when there is none (something never arrived). */
export function reportMs(name: string, value: number): void {
  if (Number.isFinite(value)) report(name, value, "ms");
  else process.stdout.write(`${name.padEnd(58)} ${"never".padStart(10)}\n`);
}

/**
 * Polls `done` every 20 ms until it holds, `deadline` (ms since the epoch) passes, or (with
 * `progress`, a count that grows while things arrive) nothing has moved for `quietMs`.
 * Answers whether it held.
 */
export async function waitUntil(
  done: () => boolean,
  deadline: number,
  quiet?: { progress: () => number; quietMs: number },
): Promise<boolean> {
  let seen = quiet?.progress();
  let movedAt = Date.now();
  while (!done()) {
    const now = Date.now();
    if (now >= deadline) return false;
    if (quiet) {
      const count = quiet.progress();
      if (count !== seen) {
        seen = count;
        movedAt = now;
      } else if (now - movedAt >= quiet.quietMs) return false;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Every arrival at these peers so far, repeats included: what {@link waitUntil} watches move. */
export function arrivals(peers: readonly Peer[]): number {
  return peers.reduce((n, p) => n + p.received.length, 0);
}
