// Federation delivery: one room on a real server, members on S peer servers (S = 1, 10, 50,
// plain HTTP sinks on loopback that record when each Announce arrives). A local member posts;
// the room numbers each message and announces it once per peer (shared inbox). Prints
// deliveries per second, the time until the last peer has a message, and what signing costs.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJwk, generateCryptoKeyPair, importJwk, signObject, signRequest } from "@fedify/fedify";
import { Create, Note } from "@fedify/vocab";
import postgres from "postgres";
import { uuidv7 } from "uuidv7";
import { startServer, stopServer } from "../helpers/server.ts";
import { ok, register } from "../helpers/stream.ts";
import { benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

const messages = Number(process.env.BENCH_FEDERATION_MESSAGES ?? 40);

interface Peer {
  server: Server;
  url: string;
  /** Arrival time (ms since epoch) of each Announce, by the announced message's seq. */
  arrivals: Map<number, number>;
}

async function startPeer(): Promise<Peer> {
  const arrivals = new Map<number, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST") {
        const id = (JSON.parse(Buffer.concat(chunks).toString()) as { id?: string }).id ?? "";
        const seq = Number(/\/history\/(\d+)$/.exec(id)?.[1]);
        if (seq > 0 && !arrivals.has(seq)) arrivals.set(seq, Date.now());
      }
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

/** What one delivery's signatures cost the sender: an RSA HTTP signature and an Ed25519 proof. */
async function signingCost() {
  const rsa = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  const ed = await generateCryptoKeyPair("Ed25519");
  const rsaKey = await importJwk(await exportJwk(rsa.privateKey), "private");
  const body = JSON.stringify({ type: "Announce", object: { type: "Create", content: "x".repeat(500) } });
  const rounds = 200;
  let started = performance.now();
  for (let i = 0; i < rounds; i++) {
    await signRequest(
      new Request("http://127.0.0.1/inbox", {
        method: "POST",
        body,
        headers: { "content-type": "application/activity+json" },
      }),
      rsaKey,
      new URL("http://127.0.0.1/rooms/x#main-key"),
    );
  }
  report("federation: RSA HTTP signature per delivery", (performance.now() - started) / rounds, "ms");
  const actor = new URL("http://127.0.0.1/users/a");
  const create = new Create({
    id: new URL("http://127.0.0.1/messages/1#create"),
    actor,
    object: new Note({ id: new URL("http://127.0.0.1/messages/1"), attribution: actor, content: "<p>hello</p>" }),
  });
  started = performance.now();
  for (let i = 0; i < 50; i++) await signObject(create, ed.privateKey, new URL(`${actor.href}#multikey-2`));
  report("federation: Ed25519 proof per message (once, not per peer)", (performance.now() - started) / 50, "ms");
}

async function run(admin: string, peersCount: number) {
  const scratch = await scratchDatabase(admin);
  const peers = await Promise.all(Array.from({ length: peersCount }, startPeer));
  const server = await startServer({
    DATABASE_URL: scratch.url,
    RATE_LIMIT_FACTOR: "1000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    QUEUE_POLL_INTERVAL_MS: "50",
    QUEUE_WORKERS: "8",
    LOG_LEVEL: "error",
  });
  try {
    const alice = await register(server, "alice");
    const room = await ok<{ id: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Bench",
      visibility: "public",
    });
    // Remote members are written straight into the database: the join handshake is not what is measured.
    const sql = postgres(scratch.url, { max: 1, onnotice: () => {} });
    for (const [i, peer] of peers.entries()) {
      const id = uuidv7();
      await sql`insert into actors (id, iri, handle, name, inbox, shared_inbox, fetched_at)
        values (${id}, ${`${peer.url}/users/p${i}`}, ${`p${i}@${new URL(peer.url).host}`}, ${`Peer ${i}`},
                ${`${peer.url}/users/p${i}/inbox`}, ${`${peer.url}/inbox`}, now())`;
      await sql`insert into room_members (room_id, actor_id, role) values (${room.id}, ${id}, 'member')`;
    }
    await sql.end();
    const sentAt = new Map<number, number>();
    const started = Date.now();
    for (let i = 0; i < messages; i++) {
      const sent = await ok<{ seq: number }>(
        201,
        server,
        alice.token,
        "PUT",
        `/api/v1/rooms/${room.id}/messages/m${i}`,
        {
          content: `message ${i}`,
        },
      );
      sentAt.set(sent.seq, Date.now());
    }
    const expected = messages * peersCount;
    const deadline = Date.now() + 120_000;
    const delivered = () => peers.reduce((n, p) => n + p.arrivals.size, 0);
    while (delivered() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const last = Math.max(...peers.flatMap((p) => [...p.arrivals.values()]));
    const lastPeer = [...sentAt].map(([seq, at]) =>
      Math.max(...peers.map((p) => (p.arrivals.get(seq) ?? Number.NaN) - at)),
    );
    report(`federation S=${peersCount}: deliveries`, delivered(), `of ${expected}`);
    report(`federation S=${peersCount}: deliveries per second`, delivered() / ((last - started) / 1000), "/s");
    report(`federation S=${peersCount}: until the last peer has a message, p50`, percentile(lastPeer, 50), "ms");
    report(`federation S=${peersCount}: until the last peer has a message, p99`, percentile(lastPeer, 99), "ms");
  } finally {
    await stopServer(server);
    await Promise.all(peers.map((p) => new Promise((r) => p.server.close(r))));
    await scratch.drop();
  }
}

export async function federationBenchmark(): Promise<void> {
  await signingCost();
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("federation: skipped, no PostgreSQL at BENCH_DATABASE_URL or 127.0.0.1:5432\n");
    return;
  }
  for (const s of [1, 10, 50]) await run(admin, s);
}
