// Fan-out and ingest on PostgreSQL, through a real server process.
// Fan-out: N stream clients (WebSockets) in one room, K senders at a fixed rate; prints the
// send-to-receive latency over all deliveries (p50, p99), deliveries per second, and the
// server's CPU time and resident memory. Ingest: messages per second accepted and stored.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createAccount } from "../../src/accounts/accounts.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { startServer, stopServer } from "../helpers/server.ts";
import { api, benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function processUsage(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return { cpuSeconds: ticks / 100, rssMiB: Number(rss ?? 0) / 1024 };
}

async function run(clients: number, senders: number, ratePerSender: number, seconds: number) {
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("fanout: no PostgreSQL reachable (set BENCH_DATABASE_URL)\n");
    return;
  }
  const scratch = await scratchDatabase(admin);
  const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-fanout-"));
  // Users are provisioned through the domain, as the admin command does, not the rate-limited API.
  const db = await openDatabase({ url: scratch.url, poolSize: 8 });
  await migrateDatabase(db);
  const config = loadConfig({ DATABASE_URL: scratch.url, ORIGIN: "http://127.0.0.1:1" });
  const names = Array.from({ length: clients }, (_, i) => `fan_${i}`);
  for (let i = 0; i < names.length; i += 16) {
    await Promise.all(
      names
        .slice(i, i + 16)
        .map((username) => createAccount({ config, db: db.db }, { username, password: "bench password" })),
    );
  }
  await db.close();
  const server = await startServer(
    {
      DATABASE_URL: scratch.url,
      DATA_DIR: dir,
      RATE_LIMIT_FACTOR: "100000",
      LOG_LEVEL: "warning",
      DATABASE_POOL_SIZE: "20",
      // Every client connects from loopback: one address.
      MAX_CONNECTIONS_PER_ADDRESS: "0",
    },
    120_000,
  );
  const sockets: WebSocket[] = [];
  try {
    const tokens: string[] = [];
    for (let i = 0; i < names.length; i += 16) {
      const batch = await Promise.all(
        names.slice(i, i + 16).map((username) =>
          api(server.url, "/api/v1/auth/login", {
            method: "POST",
            body: JSON.stringify({ username, password: "bench password", refreshTokenIn: "body" }),
          }),
        ),
      );
      tokens.push(...batch.map((b) => String(b?.accessToken)));
    }
    const room = await api(server.url, "/api/v1/rooms", {
      method: "POST",
      token: tokens[0],
      body: JSON.stringify({ name: "Fan-out", visibility: "public" }),
    });
    const roomId = String(room?.id);
    for (let i = 1; i < tokens.length; i += 32) {
      await Promise.all(
        tokens
          .slice(i, i + 32)
          .map((token) => api(server.url, `/api/v1/rooms/${roomId}/join`, { method: "POST", token })),
      );
    }
    const latencies: number[] = [];
    let deliveries = 0;
    const closes = new Map<number, number>();
    for (let i = 0; i < tokens.length; i += 32) {
      await Promise.all(
        tokens.slice(i, i + 32).map(async (token) => {
          const { ticket } = (await api(server.url, "/api/v1/stream/ticket", { method: "POST", token })) as {
            ticket: string;
          };
          const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/stream`, [
            "chat.v1",
            `ticket.${ticket}`,
          ]);
          await new Promise<void>((resolve, reject) => {
            ws.once("open", () => resolve());
            ws.once("error", reject);
          });
          ws.on("message", (data) => {
            const event = JSON.parse(String(data)) as { type: string; data: { message?: { content: string } } };
            if (event.type !== "message.created" || !event.data.message) return;
            const sentAt = Number(event.data.message.content.split(" ")[1]);
            latencies.push(Date.now() - sentAt);
            deliveries++;
          });
          ws.on("close", (code) => closes.set(code, (closes.get(code) ?? 0) + 1));
          sockets.push(ws);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    const before = processUsage(server.child.pid as number);
    const started = Date.now();
    const total = senders * ratePerSender * seconds;
    let sent = 0;
    await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        const token = tokens[s % tokens.length] as string;
        for (let n = 0; n < ratePerSender * seconds; n++) {
          const due = started + (n * 1000) / ratePerSender;
          await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
          await api(server.url, `/api/v1/rooms/${roomId}/messages/s${s}-${n}`, {
            method: "PUT",
            token,
            body: JSON.stringify({ content: `t ${Date.now()}` }),
          });
          sent++;
        }
      }),
    );
    const expected = total * clients;
    const deadline = Date.now() + 30_000;
    while (deliveries < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const elapsed = (Date.now() - started) / 1000;
    const after = processUsage(server.child.pid as number);
    const label = `fanout N=${clients} K=${senders}x${ratePerSender}/s`;
    report(`${label}: messages sent`, sent, "msg");
    report(`${label}: deliveries received / expected`, (deliveries / expected) * 100, "%");
    report(`${label}: send-to-receive latency p50`, percentile(latencies, 50), "ms");
    report(`${label}: send-to-receive latency p99`, percentile(latencies, 99), "ms");
    report(`${label}: deliveries per second`, deliveries / elapsed, "msg/s");
    report(`${label}: server CPU`, ((after.cpuSeconds - before.cpuSeconds) / elapsed) * 100, "% of a core");
    report(`${label}: server RSS`, after.rssMiB, "MiB");
    // The load generator shares this machine's two cores with the server and PostgreSQL: a
    // client that falls 1 MiB behind is closed by the server (4008) and counted here.
    report(
      `${label}: sockets closed during the run`,
      [...closes.values()].reduce((a, b) => a + b, 0),
      "sockets",
    );

    // Ingest: as fast as 8 concurrent senders can go.
    const count = 1000;
    let next = 0;
    const ingestStart = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, s) => {
        const token = tokens[s % tokens.length] as string;
        while (next < count) {
          const n = next++;
          await api(server.url, `/api/v1/rooms/${roomId}/messages/i${n}`, {
            method: "PUT",
            token,
            body: JSON.stringify({ content: `ingest ${n}` }),
          });
        }
      }),
    );
    report(
      `ingest with ${clients} listeners: messages accepted and stored`,
      count / ((Date.now() - ingestStart) / 1000),
      "msg/s",
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
    await scratch.drop();
  }
}

export async function fanoutBenchmark(): Promise<void> {
  const sizes = (process.env.BENCH_FANOUT_CLIENTS ?? "100,1000").split(",").map(Number);
  for (const clients of sizes) await run(clients, 5, 4, 10);
}
