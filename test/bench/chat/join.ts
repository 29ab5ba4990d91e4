// The two workloads that send no messages: W6, a crowd joining one room, and W9, idle clients.
import { performance } from "node:perf_hooks";
import { type Http, type Member, pool, Streams } from "./loadgen.ts";
import { rssKiB } from "./proc.ts";
import type { Integrity } from "./workloads.ts";

/**
 * What the join of a crowd measured. Inversions are `member.joined` frames whose stream
 * position was not above the last one that member saw.
 */
export interface JoinResult extends Integrity {
  /** From the first join request until every member had joined and seen every join it should. */
  readonly seconds: number;
  readonly errorSample: string[];
  readonly timedOut: boolean;
}

const joinedPrefix = '{"type":"member.joined"';

/**
 * W6: every member holds a live stream; members 1..N-1 join the room that member 0 created,
 * ten at a time (as the XMPP generator joins). A member "sees the room" when its own
 * `member.joined` arrives; the run ends once every join has answered and each member has seen
 * its own join and every one after it (the room's creator sees them all), which is what the
 * XMPP occupants' presence broadcast amounts to.
 */
export async function runJoin(
  http: Http,
  roomId: string,
  members: readonly Member[],
  deadlineSeconds: number,
  onReady: () => Promise<void>,
  onDone: () => Promise<void>,
): Promise<JoinResult> {
  const n = members.length;
  const index = new Map(members.map((m, i) => [m.id, i]));
  const seen = new Uint8Array(n * n);
  const lastPosition = new Float64Array(n);
  const errorSample: string[] = [];
  let delivered = 0;
  let duplicates = 0;
  let inversions = 0;
  let errors = 0;
  let joining = false;
  const onFrame = (r: number, text: string) => {
    if (!joining || !text.startsWith(joinedPrefix)) return;
    const event = JSON.parse(text) as { position: number; data: { member?: { actor?: { id?: string } } } };
    const j = index.get(event.data.member?.actor?.id ?? "");
    if (j == null) return;
    if (seen[r * n + j]) {
      duplicates++;
      return;
    }
    seen[r * n + j] = 1;
    delivered++;
    if (event.position <= (lastPosition[r] as number)) inversions++;
    else lastPosition[r] = event.position;
  };
  const deadline = Date.now() + deadlineSeconds * 1000;
  const streams = await Streams.open(http, members, onFrame, deadline);
  try {
    await new Promise((r) => setTimeout(r, 300));
    await onReady();
    joining = true;
    const started = performance.now();
    await pool(members.slice(1), 10, async (member) => {
      if (Date.now() > deadline) return;
      const { status, text } = await http.call("POST", `/api/v1/rooms/${roomId}/join`, member.token);
      if (status !== 200) {
        errors++;
        if (errorSample.length < 5) errorSample.push(`join ${status} ${text.slice(0, 200)}`);
      }
    });
    // The k-th join to commit is seen by the creator and the k members joined by then.
    const expected = ((n - 1) * (n + 2)) / 2;
    while (Date.now() < deadline && errors === 0 && delivered < expected) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - started) / 1000;
    joining = false;
    await onDone();
    return {
      seconds,
      expected,
      delivered,
      lost: expected - delivered,
      duplicates,
      inversions,
      errors: errors + streams.closed,
      errorSample: [...errorSample, ...[...streams.closes].map(([code, c]) => `${c} stream(s) closed with ${code}`)],
      timedOut: delivered < expected,
    };
  } finally {
    streams.close();
  }
}

/** What idle connected clients cost. */
export interface IdleResult {
  /** Resident memory per connected client, KiB. */
  readonly kibPerClient: number;
  /** Resident memory of the idle server before any client, MiB. */
  readonly idleMiB: number;
  readonly connectSeconds: number;
  readonly errors: number;
}

/**
 * W9: N clients open live streams and stay idle; the server's resident memory before and two
 * seconds after the last one connected gives the memory per client.
 */
export async function runIdle(
  http: Http,
  members: readonly Member[],
  serverPid: number,
  deadlineSeconds: number,
): Promise<IdleResult> {
  // The start-up's own work (migrations check, the first presence beat) settles first.
  await new Promise((r) => setTimeout(r, 2000));
  const before = rssKiB(serverPid);
  const started = performance.now();
  const streams = await Streams.open(http, members, () => {}, Date.now() + deadlineSeconds * 1000);
  try {
    const connectSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssKiB(serverPid);
    return {
      kibPerClient: (after - before) / members.length,
      idleMiB: before / 1024,
      connectSeconds,
      errors: streams.closed,
    };
  } finally {
    streams.close();
  }
}
