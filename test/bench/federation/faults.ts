// Faults at the receiving end, each a case of its own: a peer that answers 503 for a while
// (outage), one that accepts connections and never answers (black hole), one behind a proxy
// that delays every request (slow peer). Each prints what was sent, received, lost,
// duplicated and out of order, and how long recovering took.
import { percentile, report } from "../support.ts";
import { Instance, sentBy } from "./instance.ts";
import {
  arrivals,
  complete,
  lastArrival,
  latencies,
  reportMs,
  reportTally,
  type SentTimes,
  tally,
  waitUntil,
} from "./measure.ts";
import { DelayProxy, type Peer, TcpFront } from "./peers.ts";
import { scoped, startPeers } from "./scope.ts";

/**
 * Outage: three peers, 300 messages at 10 per second; one peer answers 503 from 10 s to 20 s
 * into the run. Prints how long after it is back it has everything sent before, and whether
 * anything reached it out of order (its stream must hold the order across the retries).
 */
export async function outageCase(admin: string): Promise<void> {
  const name = "federation outage";
  await scoped(async (defer) => {
    const peers = await startPeers(3, defer);
    const failing = peers[1] as Peer;
    const instance = await Instance.start(admin);
    defer(() => instance.stop());
    const room = await instance.createRoom("Outage");
    for (const peer of peers) await instance.addRemoteMember(peer.url, [room]);
    await instance.warmUp([room], (s) => complete(peers, s));
    const sent = new Map<string, number>();
    const started = Date.now();
    let downAt = Number.NaN;
    let upAt = Number.NaN;
    const timers = [
      setTimeout(() => {
        failing.mode = "unavailable";
        downAt = Date.now();
      }, 10_000),
      setTimeout(() => {
        failing.mode = "accept";
        upAt = Date.now();
      }, 20_000),
    ];
    defer(async () => timers.forEach(clearTimeout));
    await instance.sendAtRate({ rooms: [room], count: 300, perSecond: 10, sent, deadline: started + 60_000 });
    const sendingEnded = Date.now();
    // The backoff doubles from 1 s: after 10 s down, the next try may come 8-16 s later.
    await waitUntil(() => complete(peers, sent), sendingEnded + 60_000, {
      progress: () => arrivals(peers),
      quietMs: 30_000,
    });
    reportTally(name, peers, sent);
    const own = tally([failing], sent);
    report(`${name}: requests answered 503 (down for ${((upAt - downAt) / 1000).toFixed(1)} s)`, failing.refused, "");
    report(`${name}: the failing peer's deliveries out of order`, own.outOfOrder, "");
    report(`${name}: the failing peer's duplicates`, own.duplicates, "");
    reportMs(
      `${name}: from its recovery until it has all sent before`,
      lastArrival([failing], sentBy(sent, upAt)) - upAt,
    );
    reportMs(`${name}: from the last send until it has all`, lastArrival([failing], sent) - sendingEnded);
    const healthy = peers.filter((p) => p !== failing).flatMap((p) => latencies(p, sent));
    report(`${name}: the healthy peers' latency, p99`, percentile(healthy, 99), "ms");
  });
}

/**
 * Black hole: 8 rooms, each with a member on a healthy peer and one on a second peer behind a
 * TCP front. 100 messages at 10 per second to the rooms in turn with the second peer healthy,
 * then 100 with the front accepting connections and never answering. Prints the healthy
 * peer's latency in both, and how much later it gets its messages beside the black hole.
 */
export async function blackHoleCase(admin: string): Promise<void> {
  const name = "federation black hole";
  await scoped(async (defer) => {
    const [healthy, behind] = (await startPeers(2, defer)) as [Peer, Peer];
    let hole = false;
    const front = await TcpFront.start(() => (hole ? undefined : Number(new URL(behind.url).port)));
    defer(() => front.close());
    const instance = await Instance.start(admin);
    defer(() => instance.stop());
    const rooms: string[] = [];
    for (let i = 0; i < 8; i++) rooms.push(await instance.createRoom(`Hole ${i}`));
    await instance.addRemoteMember(healthy.url, rooms);
    await instance.addRemoteMember(front.url, rooms);
    await instance.warmUp(rooms, (s) => complete([healthy, behind], s));
    const phase = async (label: string): Promise<SentTimes> => {
      const sent = new Map<string, number>();
      const started = Date.now();
      await instance.sendAtRate({ rooms, count: 100, perSecond: 10, sent, deadline: started + 60_000, label });
      await waitUntil(() => complete([healthy], sent), Date.now() + 30_000);
      return sent;
    };
    const before = await phase("a");
    const beforeLatency = latencies(healthy, before);
    hole = true;
    front.cut();
    const during = await phase("b");
    const duringLatency = latencies(healthy, during);
    reportTally(`${name}: the healthy peer`, [healthy], during);
    report(`${name}: connections held unanswered`, front.held, "");
    report(`${name}: the healthy peer's latency without, p50`, percentile(beforeLatency, 50), "ms");
    report(`${name}: the healthy peer's latency without, p99`, percentile(beforeLatency, 99), "ms");
    report(`${name}: the healthy peer's latency beside it, p50`, percentile(duringLatency, 50), "ms");
    report(`${name}: the healthy peer's latency beside it, p99`, percentile(duringLatency, 99), "ms");
    report(
      `${name}: later beside it than without, p50`,
      percentile(duringLatency, 50) - percentile(beforeLatency, 50),
      "ms",
    );
    report(
      `${name}: later beside it than without, p99`,
      percentile(duringLatency, 99) - percentile(beforeLatency, 99),
      "ms",
    );
  });
}

/**
 * Slow peer: one peer behind a proxy that waits 300 ms before forwarding each request, one
 * reached directly; 300 messages at 10 per second (30 s). Prints the slow peer's lag when the
 * sending ends and how long it takes to have everything.
 */
export async function slowPeerCase(admin: string): Promise<void> {
  const name = "federation slow peer";
  await scoped(async (defer) => {
    const [slow, direct] = (await startPeers(2, defer)) as [Peer, Peer];
    const proxy = await DelayProxy.start(slow.url, 300);
    defer(() => proxy.close());
    const instance = await Instance.start(admin);
    defer(() => instance.stop());
    const room = await instance.createRoom("Slow");
    await instance.addRemoteMember(proxy.url, [room]);
    await instance.addRemoteMember(direct.url, [room]);
    await instance.warmUp([room], (s) => complete([slow, direct], s));
    const sent = new Map<string, number>();
    const started = Date.now();
    await instance.sendAtRate({ rooms: [room], count: 300, perSecond: 10, sent, deadline: started + 90_000 });
    const sendingEnded = Date.now();
    const behind = [...sent].filter(([key]) => !slow.firsts.has(key));
    const oldest = Math.min(...behind.map(([, at]) => at));
    await waitUntil(() => complete([slow, direct], sent), sendingEnded + 60_000, {
      progress: () => arrivals([slow, direct]),
      quietMs: 20_000,
    });
    reportTally(name, [slow, direct], sent);
    report(`${name}: messages it lacks when the sending ends`, behind.length, "");
    report(`${name}: its lag then (the oldest it lacks)`, behind.length > 0 ? sendingEnded - oldest : 0, "ms");
    reportMs(`${name}: from the last send until it has all`, lastArrival([slow], sent) - sendingEnded);
    const slowLatency = latencies(slow, sent);
    report(`${name}: its latency, p50`, percentile(slowLatency, 50), "ms");
    report(`${name}: its latency, p99`, percentile(slowLatency, 99), "ms");
    report(`${name}: the direct peer's latency, p99`, percentile(latencies(direct, sent), 99), "ms");
  });
}
