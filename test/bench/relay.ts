// The inbound side of a busy room elsewhere (issue 14): a room on another server (a peer on
// loopback playing its `Group`) relays its messages to our mirror of it as `Announce`s, each
// wrapping its author's `Create` with an integrity proof, signed as the room (draft-cavage RSA,
// as Mastodon-era servers sign; verified, parsed, queued and stored by us). Prints how many
// activities per second our server takes (202) and stores, CPU per activity (the server plus
// its PostgreSQL backends), and how long a quiet server's single messages to a room here take
// to be stored meanwhile (work is gated per sending server: a noisy one must not starve it).
import { KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signRequest } from "@fedify/fedify";
import postgres from "postgres";
import { eddsaJcsProof } from "../../federation/proofs.ts";
import { Peer, prove } from "../helpers/peer.ts";
import { startServer, stopServer } from "../helpers/server.ts";
import { ok, register } from "../helpers/stream.ts";
import { CpuMeter } from "./chat/proc.ts";
import { benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

const AS = "https://www.w3.org/ns/activitystreams";
const activities = Number(process.env.BENCH_RELAY_ACTIVITIES ?? 2000);
/** Requests the relaying server keeps in flight. */
const concurrency = 16;

export async function relayBenchmark(): Promise<void> {
  const adminUrl = await benchPostgresUrl();
  if (adminUrl == null) {
    process.stdout.write("relay: skipped (no PostgreSQL)\n");
    return;
  }
  const scratch = await scratchDatabase(adminUrl);
  const [busy, quiet] = await Promise.all([Peer.start(), Peer.start()]);
  const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-relay-"));
  const server = await startServer({
    DATABASE_URL: scratch.url,
    DATA_DIR: dir,
    RATE_LIMIT_FACTOR: "1000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    LOG_LEVEL: "error",
    // To see where the server's CPU goes: BENCH_RELAY_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    ...(process.env.BENCH_RELAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_RELAY_NODE_OPTIONS } : {}),
  });
  const sql = postgres(scratch.url, { max: 2, onnotice: () => {} });
  try {
    const [bob, alice] = [await register(server, "bob"), await register(server, "alice")];
    const [club, felix, quinn] = await Promise.all([
      busy.actor("club", { type: "Group" }),
      busy.actor("felix"),
      quiet.actor("quinn"),
    ]);
    // bob joins club (a room on the busy server); we keep a mirror of it.
    const asked = await ok<{ id: string }>(202, server, bob.token, "POST", "/api/v1/rooms/join", { target: club.id });
    const join = await busy.receive(
      "bob's join",
      (a) => (a.type === "Join" || a.type === "Follow") && a.object === club.id,
    );
    const accept = {
      "@context": AS,
      id: `${club.id}#accept`,
      type: "Accept",
      actor: club.id,
      object: join.id,
      to: join.actor,
    };
    await busy.send(club, `${server.url}/inbox`, accept);
    for (let i = 0; ; i++) {
      const { rooms } = await ok<{ rooms: { id: string; membership: string }[] }>(
        200,
        server,
        bob.token,
        "GET",
        "/api/v1/rooms",
      );
      if (rooms.some((r) => r.id === asked.id && r.membership === "joined")) break;
      if (i > 100) throw new Error("bob's join was not accepted");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // quinn, on the quiet server, is in alice's room here.
    const room = await ok<{ id: string; url: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Quiet",
      visibility: "public",
    });
    const follow = { "@context": AS, id: `${quinn.id}#follow`, type: "Follow", actor: quinn.id, object: room.url };
    await quiet.send(quinn, `${room.url}/inbox`, follow);
    await quiet.receive("the Accept", (a) => a.type === "Accept");

    process.stdout.write(`relay: signing ${activities} Announces (not measured)…\n`);
    // Proved as Fedify proves (its @context, eddsa-jcs-2022 over the JSON), with node:crypto:
    // Fedify's signObject takes ~0.2 s an activity here, which made signing the slow part.
    const template = await prove(felix, {
      "@context": AS,
      id: `${felix.id}/statuses/0/activity`,
      type: "Create",
      actor: felix.id,
      object: { id: `${felix.id}/statuses/0`, type: "Note", attributedTo: felix.id, content: "template" },
    });
    const proofKey = { keyId: new URL(felix.proofKeyId), keyObject: KeyObject.from(felix.ed25519.privateKey) };
    const requests: Request[] = [];
    for (let n = 1; n <= activities; n++) {
      const note = {
        id: `${felix.id}/statuses/${n}`,
        type: "Note",
        attributedTo: felix.id,
        to: [club.id],
        content: `<p>relayed ${n} ${"x".repeat(200)}</p>`,
        published: new Date().toISOString(),
      };
      const create: Record<string, unknown> = {
        "@context": template["@context"],
        id: `${note.id}/activity`,
        type: "Create",
        actor: felix.id,
        to: [club.id],
        object: note,
      };
      const announce = {
        "@context": AS,
        id: `${club.id}/history/${n}`,
        type: "Announce",
        actor: club.id,
        to: [`${club.id}/followers`],
        object: { ...create, proof: eddsaJcsProof(create, proofKey) },
      };
      const body = JSON.stringify(announce);
      requests.push(
        await signRequest(
          new Request(`${server.url}/inbox`, {
            method: "POST",
            headers: { "content-type": "application/activity+json" },
            body,
          }),
          club.rsa.privateKey,
          new URL(club.keyId),
        ),
      );
    }

    const backends = async () =>
      (
        await sql<
          { pid: number }[]
        >`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`
      ).map((r) => r.pid);
    const meter = new CpuMeter(server.child.pid as number, backends);
    await meter.start();
    const started = performance.now();
    let next = 0;
    let accepted = 0;
    const statuses = new Map<number, number>();
    const sender = async () => {
      while (next < requests.length) {
        const request = requests[next++] as Request;
        const res = await fetch(request);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) accepted++;
      }
    };
    // The quiet server's messages, one a second meanwhile: how long until each is stored.
    const quietTimes: number[] = [];
    let quietRunning = true;
    const quietSender = (async () => {
      for (let i = 1; quietRunning && i <= 60; i++) {
        const text = `quiet ${i}`;
        const create = {
          "@context": AS,
          id: `${quinn.id}/statuses/${i}/activity`,
          type: "Create",
          actor: quinn.id,
          to: [room.url],
          object: {
            id: `${quinn.id}/statuses/${i}`,
            type: "Note",
            attributedTo: quinn.id,
            to: [room.url],
            content: `<p>${text}</p>`,
          },
        };
        const sent = performance.now();
        await quiet.send(quinn, `${room.url}/inbox`, create);
        for (let tries = 0; tries < 600; tries++) {
          const [row] = await sql<
            { n: number }[]
          >`select count(*)::int as n from messages where content like ${`%${text}%`}`;
          if ((row?.n ?? 0) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        quietTimes.push(performance.now() - sent);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    await Promise.all(Array.from({ length: concurrency }, sender));
    const acceptedAt = performance.now();
    let stored = 0;
    for (let tries = 0; tries < 1200; tries++) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${asked.id}`;
      stored = row?.n ?? 0;
      if (stored >= activities) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const storedAt = performance.now();
    const cpu = await meter.stop();
    quietRunning = false;
    await quietSender;

    const seconds = (storedAt - started) / 1000;
    process.stdout.write(
      `relay: answers ${JSON.stringify(Object.fromEntries(statuses))}; ${stored} of ${activities} stored\n`,
    );
    report(`relay: ${activities} Announces, taken (202) per second`, accepted / ((acceptedAt - started) / 1000), "/s");
    report("relay: stored per second (first sent to last stored)", stored / seconds, "/s");
    report("relay: CPU per activity, server", (cpu.serverSeconds * 1e6) / Math.max(1, stored), "us");
    report("relay: CPU per activity, PostgreSQL", (cpu.databaseSeconds * 1e6) / Math.max(1, stored), "us");
    report("relay: a quiet server's message stored meanwhile, p50", percentile(quietTimes, 50), "ms");
    report("relay: a quiet server's message stored meanwhile, max", Math.max(...quietTimes), "ms");
  } finally {
    await sql.end();
    await Promise.all([busy.close(), quiet.close()]);
    await stopServer(server);
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
