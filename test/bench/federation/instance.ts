// The server under test for the federation benchmark: one or more real server processes on a
// scratch PostgreSQL database, a local member who sends through the HTTP API at a fixed rate,
// and remote members on the bench's peers written straight into the database.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { uuidv7 } from "uuidv7";
import { type ServerProcess, startServer, stopServer } from "../../helpers/server.ts";
import { onInterrupt } from "../chat/cleanup.ts";
import { scratchDatabase } from "../support.ts";
import { type SentTimes, waitUntil } from "./measure.ts";
import { TcpFront } from "./peers.ts";

/** One deployment: its processes share the database, the JWT key and the public origin. */
export class Instance {
  /** The public origin: the one process, or a TCP front spreading connections over the live ones. */
  readonly origin: string;
  readonly servers: ServerProcess[];
  /** A connection to the scratch database, for setting up and for looking at the streams. */
  readonly sql: postgres.Sql;
  readonly #admin: postgres.Sql;
  readonly #databaseName: string;
  readonly #ownBackend: number;
  readonly #teardown: () => Promise<void>;
  token = "";
  #actors = 0;

  private constructor(fields: {
    origin: string;
    servers: ServerProcess[];
    sql: postgres.Sql;
    admin: postgres.Sql;
    databaseName: string;
    ownBackend: number;
    teardown: () => Promise<void>;
  }) {
    this.origin = fields.origin;
    this.servers = fields.servers;
    this.sql = fields.sql;
    this.#admin = fields.admin;
    this.#databaseName = fields.databaseName;
    this.#ownBackend = fields.ownBackend;
    this.#teardown = fields.teardown;
  }

  /**
   * Starts `processes` server processes on a fresh scratch database (with more than one, a TCP
   * front is the origin they all publish under) and registers the local member who sends.
   * Whatever was started is stopped again if a later step fails.
   */
  static async start(adminUrl: string, processes = 1): Promise<Instance> {
    const undo: (() => Promise<void>)[] = [];
    const teardown = async () => {
      for (const step of undo.splice(0).reverse()) await step().catch(() => {});
    };
    const forget = onInterrupt(teardown);
    try {
      const scratch = await scratchDatabase(adminUrl);
      undo.push(() => scratch.drop());
      const dirs: string[] = [];
      undo.push(async () => {
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      });
      const servers: ServerProcess[] = [];
      let next = 0;
      const live = () => servers.filter((s) => s.child.exitCode == null && s.child.signalCode == null);
      const front =
        processes > 1
          ? await TcpFront.start(() => {
              const up = live();
              return up.length === 0 ? undefined : Number(new URL((up[next++ % up.length] as ServerProcess).url).port);
            })
          : undefined;
      if (front) undo.push(() => front.close());
      undo.push(() => Promise.all(servers.map((s) => stopServer(s, "SIGTERM", 5000))).then(() => {}));
      const jwtKey = JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }));
      // One after the other: the first migrates the scratch database.
      for (let i = 0; i < processes; i++) {
        const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-federation-"));
        dirs.push(dir);
        servers.push(
          await startServer({
            DATABASE_URL: scratch.url,
            DATA_DIR: dir,
            JWT_PRIVATE_KEY: jwtKey,
            ...(front ? { ORIGIN: front.url } : {}),
            RATE_LIMIT_FACTOR: "1000",
            FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
            LOG_LEVEL: "error",
            // To see where the server's CPU goes: BENCH_FEDERATION_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof".
            ...(process.env.BENCH_FEDERATION_NODE_OPTIONS
              ? { NODE_OPTIONS: process.env.BENCH_FEDERATION_NODE_OPTIONS }
              : {}),
          }),
        );
      }
      const sql = postgres(scratch.url, { max: 1, onnotice: () => {} });
      undo.push(() => sql.end({ timeout: 1 }));
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      undo.push(() => admin.end({ timeout: 1 }));
      const [own] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const instance = new Instance({
        origin: front?.url ?? (servers[0] as ServerProcess).url,
        servers,
        sql,
        admin,
        databaseName: new URL(scratch.url).pathname.slice(1),
        ownBackend: own?.pid ?? 0,
        teardown: async () => {
          forget();
          await teardown();
        },
      });
      instance.token = await instance.#register();
      return instance;
    } catch (error) {
      forget();
      await teardown();
      throw error;
    }
  }

  async #register(): Promise<string> {
    const res = await this.#call("POST", "/api/v1/auth/register", null, {
      username: "alice",
      password: "correct horse battery",
      refreshTokenIn: "body",
    });
    return (res as { accessToken: string }).accessToken;
  }

  async #call(method: string, path: string, token: string | null, body: unknown): Promise<unknown> {
    const res = await fetch(`${this.origin}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      // Bounded: a process that hangs fails the call (a send is then tried again until its deadline).
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** A public room of the local member's; answers its id. */
  async createRoom(name: string): Promise<string> {
    return ((await this.#call("POST", "/api/v1/rooms", this.token, { name, visibility: "public" })) as { id: string })
      .id;
  }

  /**
   * Makes a member of each room on the server at `peerUrl` (shared inbox `<peerUrl>/inbox`).
   * Written straight into the database: the join handshake is not what is measured.
   */
  async addRemoteMember(peerUrl: string, roomIds: readonly string[]): Promise<void> {
    const id = uuidv7();
    const n = this.#actors++;
    const host = new URL(peerUrl).host;
    await this.sql`insert into actors (id, iri, handle, name, inbox, shared_inbox, fetched_at)
      values (${id}, ${`${peerUrl}/users/p${n}`}, ${`p${n}@${host}`}, ${`Peer ${n}`},
              ${`${peerUrl}/users/p${n}/inbox`}, ${`${peerUrl}/inbox`}, now())`;
    for (const roomId of roomIds) {
      await this.sql`insert into room_members (room_id, actor_id, role) values (${roomId}, ${id}, 'member')`;
    }
  }

  /** The pids of the servers' PostgreSQL backends on the scratch database (not the bench's own). */
  async backends(): Promise<number[]> {
    const rows = await this.#admin<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = ${this.#databaseName} and pid <> ${this.#ownBackend}`;
    return rows.map((r) => r.pid);
  }

  /**
   * Sends `count` messages at `perSecond`, the i-th at `i / perSecond` s after the first, to
   * the rooms in turn, without waiting for one answer before the next send. A send that fails
   * (a process killed under it) is sent again with the same transaction id until `deadline`.
   * `sent` gets each message's send time as its answer arrives; `onSend(i)` is called before
   * each send. Answers when every send is answered.
   */
  async sendAtRate(options: {
    rooms: readonly string[];
    count: number;
    perSecond: number;
    sent: Map<string, number>;
    deadline: number;
    onSend?: (i: number) => void;
    label?: string;
  }): Promise<void> {
    const { rooms, count, perSecond, sent, deadline } = options;
    const label = options.label ?? "m";
    const started = Date.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / perSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (Date.now() > deadline) break;
      options.onSend?.(i);
      const roomId = rooms[i % rooms.length] as string;
      const at = Date.now();
      sends.push(
        this.#sendOne(roomId, `${label}${i}`, `message ${i}`, deadline).then((seq) => {
          sent.set(`${roomId}/${seq}`, at);
        }),
      );
    }
    await Promise.all(sends);
  }

  /**
   * Sends one message to each room and waits (30 s at most) until `received(sent)` holds: the
   * peers have our keys, the streams know their signature scheme, connections are open.
   * Answers how long that took, NaN if it never held.
   */
  async warmUp(rooms: readonly string[], received: (sent: SentTimes) => boolean): Promise<number> {
    const sent = new Map<string, number>();
    const started = Date.now();
    const deadline = started + 30_000;
    await this.sendAtRate({ rooms, count: rooms.length, perSecond: 100, sent, deadline, label: "warm" });
    return (await waitUntil(() => received(sent), deadline)) ? Date.now() - started : Number.NaN;
  }

  async #sendOne(roomId: string, txnId: string, content: string, deadline: number): Promise<number> {
    for (;;) {
      try {
        const body = await this.#call("PUT", `/api/v1/rooms/${roomId}/messages/${txnId}`, this.token, { content });
        return (body as { seq: number }).seq;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops every process, drops the scratch database, removes the data folders. */
  stop(): Promise<void> {
    return this.#teardown();
  }
}

/** The messages of `sent` sent at or before `at`. */
export function sentBy(sent: SentTimes, at: number): Map<string, number> {
  return new Map([...sent].filter(([, t]) => t <= at));
}
