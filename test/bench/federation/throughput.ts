// Throughput: one room on a real server process, one member on each of S peer servers. A
// local member sends at a fixed rate; the room announces each message once per peer. Prints
// deliveries per second, the time until the last peer has a message, integrity, and the CPU
// the server and its PostgreSQL backends spend per delivery.
import { CpuMeter } from "../chat/proc.ts";
import { percentile, report } from "../support.ts";
import { Instance } from "./instance.ts";
import { arrivals, complete, lastPeerLatencies, reportMs, reportTally, waitUntil } from "./measure.ts";
import type { PeerMode } from "./peers.ts";
import { scoped, startPeers } from "./scope.ts";

/** Peer counts measured: BENCH_FEDERATION_PEERS (comma-separated), else 1, 10, 50 and 200. */
function peerCounts(): number[] {
  const counts = (process.env.BENCH_FEDERATION_PEERS ?? "1,10,50,200").split(",").map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("BENCH_FEDERATION_PEERS: expected counts");
  return counts;
}

/** BENCH_FEDERATION_MESSAGES messages (200) at BENCH_FEDERATION_RATE per second (40), for each S. */
export async function throughputCase(admin: string): Promise<void> {
  const messages = Number(process.env.BENCH_FEDERATION_MESSAGES ?? 200);
  const rate = Number(process.env.BENCH_FEDERATION_RATE ?? 40);
  for (const s of peerCounts()) await run(admin, s, messages, rate, "accept");
}

/** The same at S=50 with peers that take draft-cavage RSA signatures only (Mastodon and most others). */
export async function rsaThroughputCase(admin: string): Promise<void> {
  const messages = Number(process.env.BENCH_FEDERATION_MESSAGES ?? 200);
  const rate = Number(process.env.BENCH_FEDERATION_RATE ?? 40);
  await run(admin, 50, messages, rate, "rsa-only");
}

async function run(admin: string, peerCount: number, messages: number, rate: number, mode: PeerMode): Promise<void> {
  const name = `federation S=${peerCount}${mode === "rsa-only" ? " RSA-only" : ""}`;
  await scoped(async (defer) => {
    const peers = await startPeers(peerCount, defer);
    for (const peer of peers) peer.mode = mode;
    const instance = await Instance.start(admin);
    defer(() => instance.stop());
    const room = await instance.createRoom("Bench");
    for (const peer of peers) await instance.addRemoteMember(peer.url, [room]);
    // Each peer fetches our key and each stream learns the signature scheme on the first message.
    reportMs(
      `${name}: the first message, until every peer has it`,
      await instance.warmUp([room], (s) => complete(peers, s)),
    );
    const server = instance.servers[0];
    const meter = new CpuMeter(server?.child.pid, () => instance.backends());
    await meter.start();
    const peersCpu = process.cpuUsage();
    const sent = new Map<string, number>();
    const started = Date.now();
    await instance.sendAtRate({ rooms: [room], count: messages, perSecond: rate, sent, deadline: started + 120_000 });
    const sendingEnded = Date.now();
    // Bounded: two minutes at most, or 15 s in which nothing more arrives.
    const whole = await waitUntil(() => complete(peers, sent), sendingEnded + 120_000, {
      progress: () => arrivals(peers),
      quietMs: 15_000,
    });
    const cpu = await meter.stop();
    const peersUsage = process.cpuUsage(peersCpu);
    if (!whole) process.stdout.write(`${name}: gave up waiting for the rest\n`);
    const t = reportTally(name, peers, sent);
    const last = Math.max(...peers.flatMap((p) => [...sent.keys()].map((key) => p.firsts.get(key) ?? 0)));
    const lastPeer = lastPeerLatencies(peers, sent);
    report(`${name}: deliveries per second`, t.received / ((last - started) / 1000), "/s");
    report(`${name}: until the last peer has a message, p50`, percentile(lastPeer, 50), "ms");
    report(`${name}: until the last peer has a message, p99`, percentile(lastPeer, 99), "ms");
    const per = (seconds: number) => (seconds * 1000) / Math.max(1, t.received);
    report(`${name}: CPU per delivery, server process`, per(cpu.serverSeconds), "ms");
    report(`${name}: CPU per delivery, PostgreSQL backends`, per(cpu.databaseSeconds), "ms");
    // The peers share the machine: what verifying costs them is CPU the server did not get.
    report(
      `${name}: CPU per delivery, the peers (bench process)`,
      per((peersUsage.user + peersUsage.system) / 1e6),
      "ms",
    );
    const schemes = await instance.sql<{ spec: string | null; streams: number }[]>`
      select signature_spec as spec, count(*)::int as streams from delivery_streams group by 1 order by 1`;
    process.stdout.write(
      `${name}: signature scheme of the streams: ${schemes.map((r) => `${r.spec ?? "none yet"} ${r.streams}`).join(", ")}\n`,
    );
    report(
      `${name}: key fetches by the peers`,
      peers.reduce((n, p) => n + p.keyFetches, 0),
      `(${peerCount} peers)`,
    );
  });
}
