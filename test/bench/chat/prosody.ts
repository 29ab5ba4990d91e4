// The anchor: a tuned Prosody 0.12 MUC (Debian's package) driven by the anchor's XMPP load
// generator, both kept in test/bench/prosody/, with the same workloads as ours.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";
import { onInterrupt } from "./cleanup.ts";
import type { BenchDatabase } from "./ours.ts";
import { CpuMeter, loadAverage } from "./proc.ts";
import {
  fanoutWorkloads,
  idleClients,
  joinMembers,
  type Measured,
  messagesPerSender,
  type WorkloadId,
} from "./workloads.ts";

const run = promisify(execFile);
const folder = fileURLToPath(new URL("../prosody/", import.meta.url));
/** Prosody's client port in both configurations. */
const port = 55222;

/**
 * Installs Debian's Prosody (and LuaDBI's PostgreSQL driver, for the archive) when missing.
 * Benchmarks only: CI never runs this.
 */
export async function ensureProsody(): Promise<void> {
  const installed = async (name: string) =>
    run("dpkg", ["-s", name]).then(
      ({ stdout }) => stdout.includes("Status: install ok installed"),
      () => false,
    );
  const missing: string[] = [];
  for (const name of ["prosody", "lua-dbi-postgresql"]) if (!(await installed(name))) missing.push(name);
  if (missing.length === 0) return;
  process.stdout.write(`chat: installing ${missing.join(", ")} (apt-get)…\n`);
  const install = () => run("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { timeout: 300_000 });
  await install().catch(async () => {
    await run("apt-get", ["update"], { timeout: 300_000 });
    await install();
  });
}

/** A Prosody process started by start-prosody.sh, in a folder of its own. */
class ProsodyServer {
  readonly pid: number;
  readonly dir: string;
  readonly #untrack: () => void;

  private constructor(pid: number, dir: string, untrack: () => void) {
    this.pid = pid;
    this.dir = dir;
    this.#untrack = untrack;
  }

  /** Starts Prosody with a configuration of test/bench/prosody/ and 1,000 accounts. */
  static async start(config: string, archive?: { port: number; database: string }): Promise<ProsodyServer> {
    if (await portOpen(port)) throw new Error(`Something already listens on ${port}; is a Prosody left running?`);
    const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-prosody-"));
    const { stdout } = await run("bash", [join(folder, "start-prosody.sh"), dir], {
      env: {
        ...process.env,
        PROSODY_CONFIG: config,
        N_ACCOUNTS: String(idleClients),
        PG_PORT: String(archive?.port ?? 5432),
        PG_DATABASE: archive?.database ?? "",
      },
      timeout: 60_000,
    });
    const pid = Number(stdout.trim().split("\n").at(-1));
    if (!Number.isInteger(pid) || pid <= 0 || !(await portOpen(port))) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Prosody did not start (${config}): ${stdout}`);
    }
    let server: ProsodyServer | undefined;
    const untrack = onInterrupt(async () => server?.stop());
    server = new ProsodyServer(pid, dir, untrack);
    return server;
  }

  /** Stops Prosody (SIGTERM, SIGKILL after 10 s) and removes its folder. */
  async stop(): Promise<void> {
    this.#untrack();
    try {
      process.kill(this.pid, "SIGTERM");
    } catch {
      // already gone
    }
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${this.pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (existsSync(`/proc/${this.pid}`)) process.kill(this.pid, "SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function portOpen(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port: p });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** What the XMPP generator prints (the fields used here). */
interface GeneratorResult {
  status: string;
  join_ms: number;
  settle_ms: number;
  presences_seen: number;
  presences_expected: number;
  messages_sent: number;
  deliveries_expected: number;
  deliveries: number;
  dupes: number;
  lost: number;
  order_inversions_per_sender: number;
  send_phase_s: number;
  ingress_msgs_per_s: number;
  delivered_per_s: number;
  lat_ms: { p50: number; p99: number };
  server: {
    rss_base_mib: number;
    rss_after_login_mib: number;
    cpu_s_send_phase: number;
    cpu_us_per_delivery: number;
  };
  loadgen_cpu_util_send_phase: number;
  error_count: number;
  errors: string[];
}

/** Runs the XMPP generator once (its own process, its own deadline, killed 30 s past it). */
async function generate(settings: Record<string, string | number>, deadlineSeconds: number): Promise<GeneratorResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", DEADLINE_S: String(deadlineSeconds) };
  for (const [key, value] of Object.entries(settings)) env[key] = String(value);
  const child = spawn(process.execPath, [join(folder, "xmpp-muc-bench.mjs")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), (deadlineSeconds + 30) * 1000);
  await new Promise((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  const start = output.indexOf("{");
  try {
    return JSON.parse(output.slice(start, output.lastIndexOf("}") + 1)) as GeneratorResult;
  } catch {
    throw new Error(`The XMPP generator printed no result:\n${output.slice(0, 2000)}`);
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

function integrityOf(r: GeneratorResult) {
  return {
    expected: r.deliveries_expected,
    delivered: r.deliveries,
    lost: r.lost,
    duplicates: r.dupes,
    inversions: r.order_inversions_per_sender,
    errors: r.error_count,
  };
}

/** One fan-out workload on Prosody. */
async function fanout(
  server: ProsodyServer,
  id: keyof typeof fanoutWorkloads,
  extraCpu?: { meter: CpuMeter },
): Promise<Measured> {
  const spec = fanoutWorkloads[id];
  const m = messagesPerSender("prosody", id);
  const load0 = loadAverage();
  await extraCpu?.meter.start();
  const r = await generate(
    {
      N: spec.n,
      K: spec.k,
      M: m,
      RATE: spec.rate,
      WINDOW: spec.window,
      SERVER_PID: server.pid,
      ROOM: `bench${id}${Date.now()}`,
    },
    120,
  );
  const database = extraCpu ? await extraCpu.meter.stop() : undefined;
  const prosodySeconds = r.server.cpu_s_send_phase;
  const cpuSeconds = prosodySeconds + (database?.databaseSeconds ?? 0);
  return {
    workload: id,
    figures: {
      cpuUs: id === "W7" ? (cpuSeconds * 1e6) / r.messages_sent : (cpuSeconds * 1e6) / Math.max(1, r.deliveries),
      deliveriesPerS: r.delivered_per_s,
      messagesPerS: r.ingress_msgs_per_s,
      p50: r.lat_ms.p50,
      p99: r.lat_ms.p99,
    },
    integrity: integrityOf(r),
    load: [load0, loadAverage()],
    detail:
      `N=${spec.n} K=${spec.k} M=${m}${spec.rate ? ` rate=${spec.rate}/s` : ` window=${spec.window}`}: ${r.status}, ` +
      `${r.messages_sent} sent in ${fmt(r.send_phase_s, 1)} s (${fmt(r.ingress_msgs_per_s)}/s), ` +
      `${fmt(r.delivered_per_s)} deliveries/s, ` +
      `p50 ${fmt(r.lat_ms.p50, 1)} ms p99 ${fmt(r.lat_ms.p99, 1)} ms; CPU Prosody ` +
      `${fmt((prosodySeconds * 1e6) / Math.max(1, r.deliveries), 1)}` +
      (database ? ` + PostgreSQL ${fmt((database.databaseSeconds * 1e6) / Math.max(1, r.deliveries), 1)}` : "") +
      ` us per delivery; generator ${fmt(r.loadgen_cpu_util_send_phase, 2)} cores` +
      (r.error_count ? `; errors: ${r.errors.join(" | ")}` : ""),
  };
}

/** W9: idle sessions on the freshly started Prosody. */
async function idle(server: ProsodyServer): Promise<Measured> {
  const load0 = loadAverage();
  const r = await generate({ N: idleClients, K: 1, M: 1, STOP_AFTER: "login", SERVER_PID: server.pid }, 120);
  const kib = ((r.server.rss_after_login_mib - r.server.rss_base_mib) * 1024) / idleClients;
  return {
    workload: "W9",
    figures: { kibPerClient: kib, idleMiB: r.server.rss_base_mib },
    load: [load0, loadAverage()],
    detail: `${idleClients} sessions: idle ${fmt(r.server.rss_base_mib, 1)} MiB, ${fmt(kib, 1)} KiB per session; ${r.error_count} errors`,
  };
}

/** W6: 500 occupants join one room, ten at a time; until every one has seen every presence. */
async function crowd(server: ProsodyServer): Promise<Measured> {
  const load0 = loadAverage();
  const r = await generate({ N: joinMembers, K: 1, M: 1, SERVER_PID: server.pid, ROOM: `benchW6${Date.now()}` }, 120);
  const seen = r.presences_seen;
  return {
    workload: "W6",
    figures: { seconds: (r.join_ms + r.settle_ms) / 1000 },
    integrity: {
      expected: r.presences_expected,
      delivered: Math.min(seen, r.presences_expected),
      lost: Math.max(0, r.presences_expected - seen),
      duplicates: Math.max(0, seen - r.presences_expected),
      inversions: 0,
      errors: r.error_count,
    },
    load: [load0, loadAverage()],
    detail:
      `joined in ${fmt(r.join_ms / 1000, 1)} s, presences settled ${fmt(r.settle_ms / 1000, 1)} s later ` +
      `(${seen} of ${r.presences_expected} seen)`,
  };
}

/** W7 on a second Prosody whose rooms are archived (MAM) in a scratch database on `database`. */
async function archived(database: BenchDatabase): Promise<Measured> {
  const name = `prosody_bench_${Date.now()}`;
  await database.admin.unsafe(`create database ${name}`);
  const dropArchive = async () => {
    await database.admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  };
  const untrack = onInterrupt(dropArchive);
  try {
    const pgPort = Number(new URL(database.adminUrl).port || 5432);
    const server = await ProsodyServer.start("prosody-mam.cfg.lua", { port: pgPort, database: name });
    let measured: Measured;
    try {
      const meter = new CpuMeter(undefined, () => database.backends(name));
      measured = await fanout(server, "W7", { meter });
    } finally {
      // Its backend flushes its statistics as it exits.
      await server.stop();
    }
    await new Promise((r) => setTimeout(r, 500));
    const url = new URL(database.adminUrl);
    url.pathname = `/${name}`;
    const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
    // Counted as inserts: the archive of a room is deleted when its last occupant leaves.
    const rows = await sql<{ n: number }[]>`
      select n_tup_ins::int as n from pg_stat_user_tables where relname = 'prosodyarchive'`.catch(() => []);
    await sql.end();
    return { ...measured, detail: `${measured.detail}; ${rows[0]?.n ?? "no"} rows inserted into its archive` };
  } finally {
    untrack();
    await dropArchive();
  }
}

/**
 * One run of the workloads on a freshly started tuned Prosody (W9 first, as ours), then W7
 * on a second Prosody that archives its rooms in PostgreSQL.
 * @param wanted Whether to run a workload (BENCH_CHAT_WORKLOADS).
 */
export async function runProsody(
  database: BenchDatabase,
  wanted: (id: WorkloadId) => boolean,
  record: (m: Measured) => void,
): Promise<void> {
  const fanouts = (["W2", "W3", "W4", "W5"] as const).filter(
    (id) => wanted(id) || (id === "W3" && wanted("W3-pglite")),
  );
  if (wanted("W9") || wanted("W6") || fanouts.length > 0) {
    const tuned = await ProsodyServer.start("prosody-tuned.cfg.lua");
    try {
      if (wanted("W9")) record(await idle(tuned));
      if (wanted("W6")) record(await crowd(tuned));
      for (const id of fanouts) {
        await new Promise((r) => setTimeout(r, 1000));
        record(await fanout(tuned, id));
      }
    } finally {
      await tuned.stop();
    }
  }
  if (wanted("W7")) record(await archived(database));
}
