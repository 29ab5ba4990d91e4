/**
 * The fuzz suite's harness: a whole server (test database, app, Fedify, live stream) served
 * in this process on a real loopback port, so a property can both talk to it over sockets and
 * read its database; plus what every property checks after each input: the server answered
 * in time with a coded problem, nothing crashed, nothing was logged as an error, and the
 * database holds what it held before.
 */
import { randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { serve } from "@hono/node-server";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { sql } from "drizzle-orm";
import fc, { type Parameters as FcParameters, type RunDetails } from "fast-check";
import { queryRows } from "../../src/db/client.ts";
import { serveWebSockets } from "../../src/stream/node-websocket.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { freePort } from "../helpers/server.ts";

/** The seed of every property (`FUZZ_SEED`), fixed so that a failure can be replayed. */
export const fuzzSeed = Number(process.env.FUZZ_SEED ?? 20_260_612);

/** How long one property may generate inputs (`FUZZ_TIME_LIMIT_MS`); it stops early, not failing, past it. */
const timeLimitMs = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 60_000);

/** The timeout of a test that runs a property: its time limit, plus shrinking and slack. */
export const propertyTimeoutMs = timeLimitMs + 60_000;

/**
 * fast-check's parameters for one property: the run's seed, `runs` inputs unless `FUZZ_RUNS`
 * says otherwise. A failure's report names the seed and the path that replay it
 * (`FUZZ_SEED=… FUZZ_PATH=… npx vitest run <file> -t <property>`).
 */
export function fuzzParameters<T>(runs: number): FcParameters<T> {
  const override = Number(process.env.FUZZ_RUNS);
  return {
    seed: fuzzSeed,
    numRuns: Number.isSafeInteger(override) && override > 0 ? override : runs,
    interruptAfterTimeLimit: timeLimitMs,
    markInterruptAsFailure: false,
    reporter: report,
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    // FUZZ_NO_SHRINK=1 reports the first failing input as generated.
    endOnFailure: Boolean(process.env.FUZZ_NO_SHRINK),
  };
}

/**
 * Reports a failed property briefly: the seed and path that replay it, the shrunk input cut
 * to a readable length (a 70,000-character string would drown the log), and the error.
 */
function report<T>(details: RunDetails<T>): void {
  if (!details.failed) return;
  const input = fc.stringify(details.counterexample);
  const error =
    details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  throw new Error(
    `Property failed after ${details.numRuns} runs (replay: FUZZ_SEED=${details.seed}, path ${JSON.stringify(details.counterexamplePath)}; shrunk ${details.numShrinks} times)\n` +
      `input: ${input.length > 1500 ? `${input.slice(0, 1500)}… (${input.length} chars)` : input}\n${error.message}`,
  );
}

/** How long any answer may take before the input counts as a hang. */
export const answerTimeoutMs = 10_000;

/**
 * Tables whose rows come and go with any request (rate-limit windows, presence, caches), or
 * with background work whatever the inputs (the bot pusher makes its cursor on its first round).
 */
const volatileTables = new Set(["rate_limits", "presence", "fedify_kv", "bot_hook_cursor"]);
/**
 * Tables whose rows are rewritten without anything happening: a session's `last_used_at` by
 * any request, the federation publisher's lease on its cursor by the clock.
 */
const countOnlyTables = new Set(["sessions", "federation_cursor"]);

/** Row count and a content digest per table. */
export type Snapshot = Record<string, { rows: number; digest: string }>;

/** A server under fuzz. */
export interface FuzzServer {
  readonly url: string;
  readonly instance: TestInstance;
  readonly dataDir: string;
  /** Uncaught exceptions and unhandled rejections seen in this process since the start. */
  readonly crashes: unknown[];
  /** How many of {@link crashes} an {@link observe} call has reported. */
  reported: number;
  /** Warnings and errors logged by the server (`fedchat` and `fedify`) since the start. */
  readonly logs: LogRecord[];
  /** The state of the database, table by table (tables in `ignore` left out). */
  snapshot(ignore?: readonly string[]): Promise<Snapshot>;
  close(): Promise<void>;
}

/**
 * Starts an instance on a fresh test database, served by @hono/node-server with the stream's
 * WebSocket on a free loopback port, with rate limits out of the way (so they do not mask
 * answers) and private addresses allowed (so a loopback peer can federate).
 */
export async function startFuzzServer(env: Record<string, string> = {}): Promise<FuzzServer> {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  const logs: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: {
      memory: (record) => {
        logs.push(record);
        if (process.env.FUZZ_LOG) console.error(formatLog(record));
      },
    },
    loggers: [
      { category: ["fedchat"], sinks: ["memory"], lowestLevel: "warning" },
      { category: ["fedify"], sinks: ["memory"], lowestLevel: "warning" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "fatal" },
    ],
  });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const instance = await createTestInstance({
    ORIGIN: url,
    RATE_LIMIT_FACTOR: "100000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    QUEUE_POLL_INTERVAL_MS: "50",
    ...env,
  });
  const server = serve({
    fetch: (request, bindings: { incoming: { socket: { remoteAddress?: string } } }) =>
      instance.app.fetch(request, { clientAddress: bindings.incoming.socket.remoteAddress }),
    port,
    hostname: "127.0.0.1",
  }) as Server;
  serveWebSockets(server, instance.hub, instance.config);
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once("listening", resolve);
    server.once("error", reject);
  });
  instance.startWorkers();
  const dataDir = instance.config.dataDir;

  const fuzzServer: FuzzServer = {
    url,
    instance,
    dataDir,
    crashes,
    reported: 0,
    logs,
    snapshot: (ignore = []) => snapshot(instance, ignore),
    async close() {
      await instance.hub.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await instance.dispose();
      await reset();
      process.off("uncaughtException", onCrash);
      process.off("unhandledRejection", onCrash);
      // A crash between inputs (while a socket closed, say) fails the file too.
      const unreported = crashes.slice(fuzzServer.reported);
      if (unreported.length > 0) {
        throw new Error(
          `the server crashed outside any input:\n${unreported.map((e) => (e instanceof Error ? (e.stack ?? e.message) : describe(e))).join("\n")}`,
        );
      }
    },
  };
  return fuzzServer;
}

const snapshotQueries = new WeakMap<TestInstance, Map<string, string>>();

/** The one statement that counts and digests every table but the ignored ones (built once per instance). */
async function snapshotQuery(t: TestInstance, ignore: readonly string[]): Promise<string> {
  const cache = snapshotQueries.get(t) ?? new Map<string, string>();
  snapshotQueries.set(t, cache);
  const key = ignore.join(",");
  const cached = cache.get(key);
  if (cached) return cached;
  const tables = (
    await queryRows<{ name: string }>(
      t.database.db,
      sql`select table_name as name from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    )
  )
    .map((row) => row.name)
    .filter((name) => !volatileTables.has(name) && !ignore.includes(name));
  // One statement for every table: each input costs one round trip, not forty.
  const query = tables
    .map((name) => {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      const digest = countOnlyTables.has(name) ? "''" : `coalesce(md5(string_agg(t::text, ',' order by t::text)), '')`;
      return `select '${name}' as name, count(*)::int as rows, ${digest} as digest from ${quoted} t`;
    })
    .join(" union all ");
  cache.set(key, query);
  return query;
}

async function snapshot(t: TestInstance, ignore: readonly string[]): Promise<Snapshot> {
  const rows = await queryRows<{ name: string; rows: number; digest: string }>(
    t.database.db,
    sql.raw(await snapshotQuery(t, ignore)),
  );
  return Object.fromEntries(rows.map((row) => [row.name, { rows: Number(row.rows), digest: row.digest }]));
}

/** The tables whose rows differ between two snapshots, with their counts. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => before[name]?.rows !== after[name]?.rows || before[name]?.digest !== after[name]?.digest)
    .map((name) => `${name} (${before[name]?.rows ?? "-"} -> ${after[name]?.rows ?? "-"} rows)`);
}

/** A log record as one line, with the stack of an error property. */
export function formatLog(record: LogRecord): string {
  const whole = record.message.map((part) => (typeof part === "string" ? part : describe(part))).join("");
  // A failed query's message carries its parameters: a whole activity, sometimes.
  const message = whole.length > 1200 ? `${whole.slice(0, 1200)}… (${whole.length} chars)` : whole;
  const error = Object.values(record.properties).find((value) => value instanceof Error) as Error | undefined;
  const stack = error?.stack && error.stack.length > 2000 ? `${error.stack.slice(0, 2000)}…` : error?.stack;
  return `[${record.level}] ${record.category.join(".")}: ${message}${stack ? `\n${stack}` : ""}`;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An answer as the properties read it. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

/**
 * Sends a raw HTTP request: the path goes out exactly as given (no normalisation of `..` or
 * percent-escapes, unlike `fetch`), the body as given, no header added but Host and the length.
 * An event stream is read no further than its headers.
 * @throws {Error} when no answer comes within {@link answerTimeoutMs}.
 */
export function send(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Uint8Array | string; timeoutMs?: number } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  const body = options.body == null ? undefined : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? answerTimeoutMs;
    const req = httpRequest(
      {
        // A connection per request: a server that drops one is seen at once, never blamed on
        // a later request that reused it.
        agent: false,
        host: hostname,
        port,
        method,
        path,
        headers: { ...options.headers, ...(body ? { "content-length": String(body.length) } : {}) },
      },
      (res) => {
        if (/^text\/event-stream/.test(res.headers["content-type"] ?? "")) {
          clearTimeout(timer);
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0), text: "" });
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          const all = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString("utf8") });
        });
        res.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to ${method} ${path.slice(0, 200)} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/**
 * The problem document of a 4xx answer.
 * @throws {Error} unless the answer is a 4xx `application/problem+json` whose `code` is a string.
 */
export function problemOf(answer: Answer): { code: string; status: number } {
  const type = answer.headers["content-type"] ?? "";
  if (answer.status < 400 || answer.status >= 500) {
    throw new Error(`expected a 4xx problem, got ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
  if (!/^application\/problem\+json/.test(type)) {
    throw new Error(`a ${answer.status} answer of type ${JSON.stringify(type)}: ${answer.text.slice(0, 300)}`);
  }
  let body: { code?: unknown; status?: unknown };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    throw new Error(`a ${answer.status} problem that is not JSON: ${answer.text.slice(0, 300)}`);
  }
  if (typeof body.code !== "string" || body.status !== answer.status) {
    throw new Error(`a problem without a string code or with another status: ${answer.text.slice(0, 300)}`);
  }
  return { code: body.code, status: answer.status };
}

/** What one input did: the answer, and what the server logged and crashed with meanwhile. */
export interface Observation {
  readonly crashes: unknown[];
  readonly errors: LogRecord[];
}

/**
 * Runs `act` and reports what went wrong in the server while it ran (and a moment after, for
 * rejections that surface a tick later): crashes and error-level log records.
 */
export async function observe<T>(server: FuzzServer, act: () => Promise<T>): Promise<T & Observation> {
  const crashMark = server.crashes.length;
  const logMark = server.logs.length;
  const result = await act();
  await new Promise((resolve) => setImmediate(resolve));
  server.reported = server.crashes.length;
  return Object.assign(result as object, {
    crashes: server.crashes.slice(crashMark),
    errors: server.logs.slice(logMark).filter((r) => r.level === "error" || r.level === "fatal"),
  }) as T & Observation;
}

/** Fails with the crashes and logged errors of an observation, if any. */
export function expectNoCrash(what: string, observation: Observation): void {
  if (observation.crashes.length === 0 && observation.errors.length === 0) return;
  const crashes = observation.crashes.map((e) => (e instanceof Error ? (e.stack ?? e.message) : describe(e)));
  throw new Error(
    `${what}: the server crashed or logged errors:\n${[...crashes, ...observation.errors.map(formatLog)].join("\n")}`,
  );
}

/** Fails unless the snapshot is the same as before. */
export function expectUnchanged(what: string, before: Snapshot, after: Snapshot): void {
  const changed = changedTables(before, after);
  if (changed.length > 0) throw new Error(`${what} changed the database: ${changed.join(", ")}`);
}

/** A user of the server under fuzz. */
export interface FuzzUser {
  id: string;
  username: string;
  password: string;
  token: string;
}

/** Registers a user over HTTP (refresh token in the body). */
export async function signUp(server: FuzzServer, prefix: string): Promise<FuzzUser> {
  const username = `${prefix}_${randomUUID().slice(0, 8)}`;
  const password = "correct horse battery";
  const answer = await send(server.url, "POST", "/api/v1/auth/register", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, refreshTokenIn: "body" }),
  });
  if (answer.status !== 201) throw new Error(`signing up ${username}: ${answer.status} ${answer.text}`);
  const body = JSON.parse(answer.text) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, username, password, token: body.accessToken };
}

/** Makes sure the user's token still works (a fuzzed logout may have ended its session); logs in again if not. */
export async function keepSignedIn(server: FuzzServer, user: FuzzUser): Promise<void> {
  const me = await send(server.url, "GET", "/api/v1/me", { headers: { authorization: `Bearer ${user.token}` } });
  if (me.status === 200) return;
  const answer = await send(server.url, "POST", "/api/v1/auth/login", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: user.username, password: user.password, refreshTokenIn: "body" }),
  });
  if (answer.status !== 200) throw new Error(`logging ${user.username} in again: ${answer.status} ${answer.text}`);
  user.token = (JSON.parse(answer.text) as { accessToken: string }).accessToken;
}

/** Calls the JSON API as a user and fails unless the status is `status`; returns the JSON body. */
export async function api<T>(
  server: FuzzServer,
  user: FuzzUser | null,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
): Promise<T> {
  const answer = await send(server.url, method, path, {
    headers: {
      ...(user ? { authorization: `Bearer ${user.token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (answer.status !== status) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
  return (answer.text ? JSON.parse(answer.text) : undefined) as T;
}

/** A short label for a value in failure messages. */
export function preview(value: string | Uint8Array, max = 300): string {
  const text = typeof value === "string" ? value : Buffer.from(value).toString("latin1");
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)` : JSON.stringify(text);
}
