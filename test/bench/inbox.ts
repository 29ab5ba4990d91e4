// The inbox under a flood: ten senders deliver heavy signed Creates to one room at once while a
// probe asks /healthz every 20 ms. Prints the probe's latency (median, p99, max), what the
// inbox answered, and how many activities per second it took. The heaviest activity the inbox
// takes is one at its caps (100 Hashtags, 200 recipients); one far over them (12,000 tags) is
// measured too, since that is what an attacker sends.
import { spawn } from "node:child_process";
import { signRequest } from "@fedify/fedify";
import { Peer, type PeerActor } from "../helpers/peer.ts";
import { startServer, stopServer } from "../helpers/server.ts";
import { ok, register } from "../helpers/stream.ts";
import { benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

const senders = 10;
const perSender = Number(process.env.BENCH_INBOX_ACTIVITIES ?? 10);

function heavyCreate(peer: Peer, author: PeerActor, room: string, n: number, tags: number) {
  const id = `${author.id}/statuses/flood-${n}`;
  const cc = ["https://www.w3.org/ns/activitystreams#Public"];
  for (let i = 0; i < Math.min(tags, 199); i++) cc.push(`${peer.url}/users/r${i}`);
  const note = {
    id,
    type: "Note",
    attributedTo: author.id,
    to: [room],
    cc,
    content: `<p>flood ${n}</p>`,
    published: new Date().toISOString(),
    tag: Array.from({ length: tags }, (_, i) => ({ type: "Hashtag", href: `${peer.url}/tags/t${i}`, name: `#t${i}` })),
  };
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${id}/activity`,
    type: "Create",
    actor: author.id,
    to: [room],
    cc,
    object: note,
  };
}

async function flood(label: string, tags: number, admin: string) {
  const scratch = await scratchDatabase(admin);
  const peer = await Peer.start();
  const server = await startServer({
    DATABASE_URL: scratch.url,
    RATE_LIMIT_FACTOR: "1000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    LOG_LEVEL: "error",
  });
  try {
    const alice = await register(server, "alice");
    const room = await ok<{ id: string; url: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Flood",
      visibility: "public",
    });
    const inbox = `${room.url}/inbox`;
    const authors = await Promise.all(Array.from({ length: senders }, (_, i) => peer.actor(`sender${i}`)));
    // Each sender's key is fetched once before the flood: the flood measures the work per activity.
    for (const [i, author] of authors.entries()) {
      await peer.send(author, inbox, heavyCreate(peer, author, room.url, -1 - i, 1));
    }
    // Signed ahead, so the senders spend the flood sending, not signing.
    const batches = await Promise.all(
      authors.map(async (author, i) => {
        const requests: { headers: Headers; body: string }[] = [];
        for (let k = 0; k < perSender; k++) {
          const body = JSON.stringify(heavyCreate(peer, author, room.url, i * 1000 + k, tags));
          const request = new Request(inbox, {
            method: "POST",
            headers: { "content-type": "application/activity+json" },
            body,
          });
          const signed = await signRequest(request, author.rsa.privateKey, new URL(author.keyId));
          requests.push({ headers: signed.headers, body });
        }
        return requests;
      }),
    );
    // The probe is a process of its own, so that the senders' work here does not delay it.
    const probe = spawn(process.execPath, ["--input-type=module", "-e", probeScript(`${server.url}/healthz`)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let probeOutput = "";
    probe.stdout.on("data", (chunk: Buffer) => {
      probeOutput += chunk.toString();
    });
    await new Promise((r) => setTimeout(r, 300));
    const statuses = new Map<number, number>();
    const started = performance.now();
    await Promise.all(
      batches.map(async (requests) => {
        for (const { headers, body } of requests) {
          const res = await fetch(inbox, { method: "POST", headers, body });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const exited = new Promise((r) => probe.once("exit", r));
    probe.stdin.end();
    await exited;
    const latencies = JSON.parse(probeOutput) as number[];
    report(`inbox ${label}: /healthz during the flood, median`, percentile(latencies, 50), "ms");
    report(`inbox ${label}: /healthz during the flood, p99`, percentile(latencies, 99), "ms");
    report(`inbox ${label}: /healthz during the flood, max`, Math.max(...latencies), "ms");
    report(`inbox ${label}: activities answered per second`, (senders * perSender) / seconds, "/s");
    process.stdout.write(
      `inbox ${label}: answers ${[...statuses].map(([status, n]) => `${n}x ${status}`).join(", ")}\n`,
    );
  } finally {
    await stopServer(server);
    await peer.close();
    await scratch.drop();
  }
}

/** A script that asks `url` every 20 ms until its stdin closes, then prints the latencies. */
function probeScript(url: string): string {
  return `
    const latencies = [];
    let running = true;
    process.stdin.on("end", () => { running = false; });
    process.stdin.resume();
    while (running) {
      const started = performance.now();
      await fetch(${JSON.stringify(url)}).then((r) => r.arrayBuffer());
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
    process.stdout.write(JSON.stringify(latencies));
  `;
}

export async function inboxBenchmark(): Promise<void> {
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("inbox: skipped, no PostgreSQL at BENCH_DATABASE_URL or 127.0.0.1:5432\n");
    return;
  }
  await flood("12,000 tags each", 12_000, admin);
  await flood("100 tags each (the cap)", 100, admin);
}
