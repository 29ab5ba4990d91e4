// Our side: a PostgreSQL cluster of the benchmark's own (statements counted), a real server
// process per run with users provisioned straight into its database, and the workloads.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { uuidv7 } from "uuidv7";
import { generateActorKeys } from "../../../src/accounts/keys.ts";
import { hashPassword } from "../../../src/accounts/passwords.ts";
import { createTokenService } from "../../../src/accounts/tokens.ts";
import { openDatabase } from "../../../src/db/client.ts";
import { migrateDatabase } from "../../../src/db/migrate.ts";
import { actors, sessions, users } from "../../../src/db/schema.ts";
import { presenceGraceMs } from "../../../src/stream/presence.ts";
import { createPgCluster, type PgCluster } from "../../helpers/pg-cluster.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../../helpers/server.ts";
import { benchPostgresUrl, scratchDatabase } from "../support.ts";
import { onInterrupt } from "./cleanup.ts";
import { runIdle, runJoin } from "./join.ts";
import { Http, type Member, pool, runFanout } from "./loadgen.ts";
import { CpuMeter, type CpuUse, loadAverage } from "./proc.ts";
import {
  bodyBytes,
  fanoutWorkloads,
  idleClients,
  joinMembers,
  type Measured,
  messagesPerSender,
  type StatementCounts,
  type WorkloadId,
} from "./workloads.ts";

/** The PostgreSQL server our runs (and Prosody's archive) use. */
export class BenchDatabase {
  /** The `postgres` superuser on the `postgres` database. */
  readonly adminUrl: string;
  /** Whether pg_stat_statements counts statements here. */
  readonly countsStatements: boolean;
  /** What this is, for the output. */
  readonly description: string;
  readonly admin: postgres.Sql;
  readonly cluster: PgCluster | undefined;

  private constructor(
    adminUrl: string,
    countsStatements: boolean,
    description: string,
    admin: postgres.Sql,
    cluster: PgCluster | undefined,
  ) {
    this.adminUrl = adminUrl;
    this.countsStatements = countsStatements;
    this.description = description;
    this.admin = admin;
    this.cluster = cluster;
  }

  /**
   * A cluster of our own (durable: fsync on, as a production server; pg_stat_statements
   * loaded), else the local PostgreSQL without statement counts. `track(cluster)` is called as
   * soon as the cluster may exist, so an interrupted run can still drop it.
   */
  static async open(track: (drop: () => Promise<void>) => void): Promise<BenchDatabase> {
    let cluster: PgCluster | undefined;
    try {
      cluster = await createPgCluster(
        (created) => {
          cluster = created;
          track(() => created.drop());
        },
        {
          fsync: "on",
          shared_preload_libraries: "pg_stat_statements",
          "pg_stat_statements.max": "1000",
          // Planning counted too: statements that are planned at every call show up.
          "pg_stat_statements.track_planning": "on",
          max_connections: "200",
        },
      );
      const admin = postgres(cluster.url, { max: 2, onnotice: () => {} });
      await admin`create extension if not exists pg_stat_statements`;
      return new BenchDatabase(
        cluster.url,
        true,
        `a PostgreSQL cluster of its own (port ${cluster.port}, fsync on, pg_stat_statements)`,
        admin,
        cluster,
      );
    } catch (error) {
      await cluster?.drop();
      const url = await benchPostgresUrl();
      if (url == null) throw new Error(`No PostgreSQL: no cluster of our own (${String(error)}) and none at 5432.`);
      process.stdout.write(`chat: could not make a PostgreSQL cluster (${String(error).split("\n")[0]});\n`);
      const admin = postgres(url, { max: 2, onnotice: () => {} });
      return new BenchDatabase(
        url,
        false,
        `the local PostgreSQL at ${new URL(url).host}, NO statement counts`,
        admin,
        undefined,
      );
    }
  }

  /** Pids of the backends connected to a database (the server's pool and its LISTEN). */
  async backends(database: string): Promise<number[]> {
    const rows = await this.admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`;
    return rows.map((r) => r.pid);
  }

  async resetStatements(): Promise<void> {
    if (this.countsStatements) await this.admin`select pg_stat_statements_reset()`;
  }

  /** Statements run in one database since the last reset, most called first. */
  async statements(database: string, sends: number): Promise<StatementCounts | undefined> {
    if (!this.countsStatements) return undefined;
    const rows = await this.admin<{ query: string; calls: number; ms: number; planMs: number; jit: number }[]>`
      select s.query, s.calls::int as calls, s.total_exec_time as ms, s.total_plan_time as "planMs",
        s.jit_functions::int as jit
      from pg_stat_statements s join pg_database d on d.oid = s.dbid
      where d.datname = ${database} order by s.calls desc, s.total_exec_time desc`;
    return {
      sends,
      calls: rows.reduce((sum, r) => sum + r.calls, 0),
      ms: rows.reduce((sum, r) => sum + r.ms, 0),
      planMs: rows.reduce((sum, r) => sum + r.planMs, 0),
      jitFunctions: rows.reduce((sum, r) => sum + r.jit, 0),
      top: rows.slice(0, 12).map((r) => ({ query: r.query.replace(/\s+/g, " "), calls: r.calls, ms: r.ms })),
    };
  }

  /** Closes the admin connection and drops the cluster (if ours); never throws. */
  async close(): Promise<void> {
    await this.admin.end({ timeout: 2 }).catch(() => {});
    await this.cluster?.drop();
  }
}

/** A server process of ours with its provisioned users, ready for workloads. */
interface Instance {
  readonly http: Http;
  readonly server: ServerProcess;
  readonly members: Member[];
  /** The scratch database's name (PostgreSQL), for its backends and statements. */
  readonly databaseName: string | undefined;
  /**
   * When the last workload's departures have settled: a user whose last stream closed is
   * announced offline after the presence grace, work that must not land in the next run.
   */
  quietAt: number;
  stop(): Promise<void>;
}

/**
 * Creates the users straight in the database (one password hash and one set of actor keys
 * shared by all: the rate-limited sign-up, and 1,000 argon2 hashes, would take minutes), each
 * with a session, and signs their access tokens with the key the server is given.
 */
async function provision(
  connection: { url: string } | { dataDir: string },
  count: number,
  jwk: JsonWebKey,
  origin: string,
): Promise<Member[]> {
  const handle = await openDatabase({ ...connection, poolSize: 4 });
  try {
    await migrateDatabase(handle);
    const [passwordHash, keys] = await Promise.all([hashPassword("bench password"), generateActorKeys()]);
    const rows = Array.from({ length: count }, (_, i) => ({
      id: uuidv7(),
      username: `bench${i}`,
      displayName: `bench${i}`,
      passwordHash,
      ...keys,
    }));
    const sessionRows = rows.map((u) => ({
      id: uuidv7(),
      userId: u.id,
      deviceLabel: "chat benchmark",
      expiresAt: new Date(Date.now() + 24 * 3600 * 1000),
    }));
    for (let i = 0; i < rows.length; i += 200) {
      await handle.db.insert(users).values(rows.slice(i, i + 200));
      await handle.db.insert(actors).values(rows.slice(i, i + 200).map((u) => ({ id: u.id, userId: u.id })));
      await handle.db.insert(sessions).values(sessionRows.slice(i, i + 200));
    }
    const tokens = await createTokenService(jwk, origin);
    return await Promise.all(
      sessionRows.map(async (s) => ({ id: s.userId, token: (await tokens.issue(s.userId, s.id)).accessToken })),
    );
  } finally {
    await handle.close();
  }
}

/** Starts a server on a fresh database (a scratch database on `database`, or PGlite) with `count` users. */
async function startInstance(database: BenchDatabase | "pglite", count: number): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-chat-"));
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) as JsonWebKey;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const scratch = database === "pglite" ? undefined : await scratchDatabase(database.adminUrl);
  let server: ServerProcess | undefined;
  const cleanup = async () => {
    untrack();
    if (server) await stopServer(server);
    await scratch?.drop().catch((error) => process.stdout.write(`chat: dropping the scratch database: ${error}\n`));
    rmSync(dir, { recursive: true, force: true });
  };
  const untrack = onInterrupt(cleanup);
  try {
    const members = await provision(
      scratch ? { url: scratch.url } : { dataDir: join(dir, "data") },
      count,
      jwk,
      origin,
    );
    server = await startServer(
      {
        ...(scratch ? { DATABASE_URL: scratch.url } : {}),
        DATA_DIR: join(dir, "data"),
        PORT: String(port),
        JWT_PRIVATE_KEY: JSON.stringify(jwk),
        RATE_LIMIT_FACTOR: "100000",
        // Every client connects from loopback: one address.
        MAX_CONNECTIONS_PER_ADDRESS: "0",
        LOG_LEVEL: "warning",
        // To see where the server's CPU goes: BENCH_CHAT_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof".
        ...(process.env.BENCH_CHAT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_CHAT_NODE_OPTIONS } : {}),
      },
      120_000,
    );
    const http = new Http(server.url);
    const started = server;
    return {
      http,
      server: started,
      members,
      databaseName: scratch ? new URL(scratch.url).pathname.slice(1) : undefined,
      quietAt: 0,
      async stop() {
        http.close();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Creates a public room as `owner` and has the others join it, ten at a time. */
async function roomOf(http: Http, owner: Member, others: readonly Member[], name: string): Promise<string> {
  const room = await http.json("POST", "/api/v1/rooms", owner.token, { name, visibility: "public" });
  const roomId = String(room.id);
  await pool(others, 10, async (m) => {
    await http.json("POST", `/api/v1/rooms/${roomId}/join`, m.token);
  });
  return roomId;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Waits until the previous workload's streams have gone quiet (see {@link Instance.quietAt}). */
async function quiet(instance: Instance): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, instance.quietAt - Date.now())));
}

/** Marks the streams just closed: their departures settle after the presence grace. */
function closed(instance: Instance): void {
  instance.quietAt = Date.now() + presenceGraceMs + 1500;
}

/**
 * One fan-out workload on a running instance: a room of its own, meters around the send phase.
 * CPU per delivery counts the server process and the PostgreSQL backends of its database.
 */
async function fanout(
  instance: Instance,
  database: BenchDatabase | "pglite",
  id: keyof typeof fanoutWorkloads,
  members: readonly Member[],
  workload: WorkloadId = id,
): Promise<Measured> {
  const spec = fanoutWorkloads[id];
  const m = messagesPerSender("ours", workload === "W3-pglite" ? workload : id);
  const pg = database === "pglite" ? undefined : database;
  const name = instance.databaseName ?? "";
  const load0 = loadAverage();
  const roomId = await roomOf(instance.http, members[0] as Member, members.slice(1, spec.n), `Bench ${workload}`);
  const meter = new CpuMeter(instance.server.child.pid as number, () => (pg ? pg.backends(name) : Promise.resolve([])));
  let cpu: CpuUse = { serverSeconds: Number.NaN, databaseSeconds: Number.NaN };
  let statements: StatementCounts | undefined;
  const result = await runFanout(
    instance.http,
    roomId,
    members.slice(0, spec.n),
    {
      ...spec,
      m,
      release: id === "W7" ? "committed" : "reflected",
      bodyBytes,
      deadlineSeconds: 120,
    },
    async () => {
      await quiet(instance);
      await pg?.resetStatements();
      await meter.start();
    },
    async (sent) => {
      cpu = await meter.stop();
      statements = pg ? await pg.statements(name, sent) : undefined;
    },
  );
  closed(instance);
  const cpuSeconds = cpu.serverSeconds + cpu.databaseSeconds;
  const perDelivery = (cpuSeconds * 1e6) / Math.max(1, result.delivered);
  const figures: Record<string, number> = {
    cpuUs: id === "W7" ? (cpuSeconds * 1e6) / Math.max(1, result.sent) : perDelivery,
    deliveriesPerS: result.deliveriesPerSecond,
    messagesPerS: result.messagesPerSecond,
    p50: result.p50,
    p99: result.p99,
  };
  return {
    workload,
    figures,
    integrity: result,
    load: [load0, loadAverage()],
    statements,
    detail:
      `N=${spec.n} K=${spec.k} M=${m}${spec.rate ? ` rate=${spec.rate}/s` : ` window=${spec.window}`}: ` +
      `${result.sent} sent in ${fmt(result.seconds, 1)} s (${fmt(result.messagesPerSecond)}/s), ` +
      `${fmt(result.deliveriesPerSecond)} deliveries/s, ` +
      `p50 ${fmt(result.p50, 1)} ms p99 ${fmt(result.p99, 1)} ms (201 p50 ${fmt(result.ackP50, 1)} ms); ` +
      `CPU server ${fmt((cpu.serverSeconds * 1e6) / Math.max(1, result.delivered), 1)} + PostgreSQL ` +
      `${fmt((cpu.databaseSeconds * 1e6) / Math.max(1, result.delivered), 1)} us per delivery ` +
      `(${fmt(cpuSeconds / result.seconds, 2)} cores); generator ${fmt(result.generatorCores, 2)} cores` +
      (result.timedOut ? "; DEADLINE reached" : "") +
      (result.errorSample.length ? `; errors: ${result.errorSample.join(" | ")}` : ""),
  };
}

/** W9: idle streams on the freshly started server. */
async function idle(instance: Instance): Promise<Measured> {
  const { http, members, server } = instance;
  const load0 = loadAverage();
  const result = await runIdle(http, members.slice(0, idleClients), server.child.pid as number, 120);
  closed(instance);
  return {
    workload: "W9",
    figures: { kibPerClient: result.kibPerClient, idleMiB: result.idleMiB },
    load: [load0, loadAverage()],
    detail:
      `${idleClients} streams connected in ${fmt(result.connectSeconds, 1)} s; idle ${fmt(result.idleMiB, 1)} MiB, ` +
      `${fmt(result.kibPerClient, 1)} KiB per client; ${result.errors} closed`,
  };
}

/** W6: the last 500 users join a room of the first of them. */
async function crowd(instance: Instance, database: BenchDatabase): Promise<Measured> {
  const { http, members, server } = instance;
  const joiners = members.slice(idleClients - joinMembers, idleClients);
  const load0 = loadAverage();
  const roomId = await roomOf(http, joiners[0] as Member, [], "Bench W6");
  const meter = new CpuMeter(server.child.pid as number, () => database.backends(instance.databaseName ?? ""));
  let cpu: CpuUse = { serverSeconds: Number.NaN, databaseSeconds: Number.NaN };
  const join = await runJoin(
    http,
    roomId,
    joiners,
    120,
    async () => {
      await quiet(instance);
      await meter.start();
    },
    async () => {
      cpu = await meter.stop();
    },
  );
  closed(instance);
  return {
    workload: "W6",
    figures: { seconds: join.seconds },
    integrity: join,
    load: [load0, loadAverage()],
    detail:
      `${joinMembers - 1} joins, ${join.delivered} of ${join.expected} member.joined deliveries in ${fmt(join.seconds, 1)} s; ` +
      `CPU ${fmt(((cpu.serverSeconds + cpu.databaseSeconds) * 1e3) / (joinMembers - 1), 1)} ms per join` +
      (join.timedOut ? "; DEADLINE reached" : "") +
      (join.errorSample.length ? `; errors: ${join.errorSample.join(" | ")}` : ""),
  };
}

/**
 * One run of the workloads on our server: W9 on the fresh server, then W6 and the fan-outs,
 * each with members of its own (so that no one's presence changes during another's run); then
 * W3 again on a server on PGlite. Every server and scratch database is gone when it returns.
 * @param wanted Whether to run a workload (BENCH_CHAT_WORKLOADS).
 */
export async function runOurs(
  database: BenchDatabase,
  wanted: (id: WorkloadId) => boolean,
  record: (m: Measured) => void,
): Promise<void> {
  const groups: [keyof typeof fanoutWorkloads, number][] = [
    ["W2", 0],
    ["W3", 50],
    ["W4", 100],
    ["W5", 300],
    ["W7", idleClients],
  ];
  if (["W9", "W6", ...groups.map(([id]) => id)].some((id) => wanted(id as WorkloadId))) {
    const instance = await startInstance(database, idleClients + fanoutWorkloads.W7.n);
    try {
      if (wanted("W9")) record(await idle(instance));
      if (wanted("W6")) record(await crowd(instance, database));
      for (const [id, from] of groups) {
        if (!wanted(id)) continue;
        record(await fanout(instance, database, id, instance.members.slice(from, from + fanoutWorkloads[id].n)));
      }
    } finally {
      await instance.stop();
    }
  }
  if (wanted("W3-pglite")) {
    const embedded = await startInstance("pglite", fanoutWorkloads.W3.n);
    try {
      record(await fanout(embedded, "pglite", "W3", embedded.members, "W3-pglite"));
    } finally {
      await embedded.stop();
    }
  }
}
