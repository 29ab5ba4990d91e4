/**
 * Two federating instances on loopback: `npm run two-instances`.
 *
 * Starts two real server processes (`node federation/main.ts`), each with its own database:
 * two PostgreSQL databases (`fedchat_a`, `fedchat_b`, created when missing) when
 * TWO_INSTANCES_DATABASE_URL names an admin database, else two embedded databases in
 * `data/two-instances/a` and `.../b`. It waits until both answer `/readyz`, prints their URLs,
 * prefixes their output with `[a]` / `[b]`, and stops both on Ctrl-C or SIGTERM. If one dies,
 * it stops the other and exits non-zero.
 *
 * Environment: TWO_INSTANCES_PORT_A (3001), TWO_INSTANCES_PORT_B (3002),
 * TWO_INSTANCES_DATABASE_URL, TWO_INSTANCES_DATA_DIR (data/two-instances); the rest
 * (LOG_LEVEL, ...) is passed on to both servers.
 *
 * Tests use {@link startTwoInstances} directly.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import postgres from "postgres";

/** The two instances' names, used as output prefixes and folder names. */
export type InstanceName = "a" | "b";

const names: readonly InstanceName[] = ["a", "b"];

/** The project root: this file lives in test/. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** How a server process ended. */
export interface ExitStatus {
  /** The exit code, or null when a signal ended the process (or it never started). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly error?: Error;
}

/** What {@link startTwoInstances} needs; every field has a default. */
export interface TwoInstancesOptions {
  /** The loopback ports to serve on; 3001 and 3002 by default. Port 0 is refused: ORIGIN must be known. */
  readonly ports?: { readonly a?: number; readonly b?: number };
  /** The folder that holds each instance's data folder (`a/`, `b/`); `data/two-instances` by default. */
  readonly dataDir?: string;
  /**
   * A `postgres://` URL of a database to connect to as an administrator. When given, each
   * instance gets its own database on that server, created when missing; else each runs on
   * the embedded database in its data folder.
   */
  readonly databaseUrl?: string | undefined;
  /** The two databases' names on `databaseUrl`; `fedchat_a` and `fedchat_b` by default. */
  readonly databaseNames?: { readonly a?: string; readonly b?: string };
  /** More environment variables for both servers, over this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for both `/readyz` to answer 200; 60 s by default. */
  readonly readyTimeoutMs?: number;
  /** How long `stop()` waits for a server to exit before killing it; 20 s by default. */
  readonly stopTimeoutMs?: number;
  /**
   * Receives each line the servers write. By default lines go to this process's stdout and
   * stderr, prefixed with `[a] ` or `[b] `.
   */
  readonly onOutput?: (name: InstanceName, line: string, stream: "stdout" | "stderr") => void;
  /** Aborting it while the servers start stops them, and the returned promise rejects. */
  readonly signal?: AbortSignal;
}

/** One running server process. */
export interface RunningInstance {
  readonly name: InstanceName;
  /** The instance's origin, which is also its ORIGIN: `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The instance's data folder (DATA_DIR). */
  readonly dataDir: string;
  /** The instance's DATABASE_URL, or undefined on the embedded database. */
  readonly databaseUrl: string | undefined;
  readonly pid: number | undefined;
  /** Settles when the process has exited and its output is read to the end. */
  readonly exited: Promise<ExitStatus>;
  /** The last lines the process wrote, for error messages. */
  readonly recentOutput: readonly string[];
}

/** Both servers, ready to serve. */
export interface TwoInstances {
  readonly a: RunningInstance;
  readonly b: RunningInstance;
  /**
   * Sends SIGTERM to both servers and waits until they exit (a server still running after
   * `stopTimeoutMs` is killed). Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

/** Thrown when the instances could not be started; carries the servers' last output. */
export class TwoInstancesError extends Error {
  override readonly name = "TwoInstancesError";
}

const host = "127.0.0.1";
const defaultPorts = { a: 3001, b: 3002 } as const;
const keptLines = 40;

/**
 * Starts two server processes on loopback, each with its own database, and waits until both
 * are ready. They are allowed to federate with each other over loopback
 * (FEDERATION_ALLOW_PRIVATE_ADDRESS=true).
 * @param options Ports, folders, database and output handling; all optional.
 * @returns The two instances and a function that stops both.
 * @throws {TwoInstancesError} when a server exits or is not ready in time (both are stopped first).
 */
export async function startTwoInstances(options: TwoInstancesOptions = {}): Promise<TwoInstances> {
  options.signal?.throwIfAborted();
  const ports = { a: options.ports?.a ?? defaultPorts.a, b: options.ports?.b ?? defaultPorts.b };
  for (const name of names) {
    const port = ports[name];
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TwoInstancesError(`Port for instance ${name} must be 1 to 65535, not ${port}.`);
    }
  }
  if (ports.a === ports.b) throw new TwoInstancesError(`Both instances cannot use port ${ports.a}.`);

  const dataRoot = resolve(root, options.dataDir ?? "data/two-instances");
  const databaseUrls: Record<InstanceName, string | undefined> = { a: undefined, b: undefined };
  if (options.databaseUrl) {
    const databases = {
      a: options.databaseNames?.a ?? "fedchat_a",
      b: options.databaseNames?.b ?? "fedchat_b",
    };
    await createDatabases(options.databaseUrl, [databases.a, databases.b]);
    for (const name of names) databaseUrls[name] = withDatabase(options.databaseUrl, databases[name]);
  }

  const output = options.onOutput ?? writePrefixed;
  // Pretty logs for a person at a terminal; the servers would pick JSON, writing to a pipe.
  const logFormat = options.onOutput == null && process.stdout.isTTY ? { LOG_FORMAT: "pretty" } : {};
  const instances = names.map((name) =>
    spawnInstance({
      name,
      port: ports[name],
      dataDir: join(dataRoot, name),
      databaseUrl: databaseUrls[name],
      env: { ...logFormat, ...options.env },
      output,
    }),
  );
  const [a, b] = instances as [Spawned, Spawned];

  // A launcher that exits without stop() (an uncaught error, process.exit) takes its servers
  // along; only SIGKILL of the launcher leaves them running, as they are detached (see spawn).
  const killOnExit = () => {
    for (const instance of instances) instance.terminate("SIGTERM");
  };
  process.on("exit", killOnExit);

  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.all(instances.map((instance) => stopInstance(instance, stopTimeoutMs))).then(() => {
      process.off("exit", killOnExit);
    });
    return stopping;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    await Promise.all(instances.map((instance) => waitUntilReady(instance, deadline, options.signal)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { a: a.instance, b: b.instance, stop };
}

/** A spawned server and the handles the launcher keeps on it. */
interface Spawned {
  readonly instance: RunningInstance;
  readonly child: ChildProcess;
  /** True once the process has exited. */
  readonly hasExited: () => boolean;
  /** Sends a signal unless the process has exited. */
  readonly terminate: (signal: NodeJS.Signals) => void;
}

function spawnInstance(options: {
  name: InstanceName;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  output: NonNullable<TwoInstancesOptions["onOutput"]>;
}): Spawned {
  const { name, port, dataDir, databaseUrl } = options;
  const url = `http://${host}:${port}`;
  const child = spawn(process.execPath, [join(root, "federation/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      ...options.env,
      PORT: String(port),
      HOST: host,
      ORIGIN: url,
      DATA_DIR: dataDir,
      // Empty means "the embedded database" to config.ts, so a DATABASE_URL in this
      // process's environment does not leak into both servers.
      DATABASE_URL: databaseUrl ?? "",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      INSTANCE_NAME: options.env.INSTANCE_NAME ?? `Instance ${name.toUpperCase()}`,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: Ctrl-C at a terminal signals the whole foreground group, and a
    // server that got SIGINT from the terminal and then SIGTERM from us would take the
    // second signal as "exit now" (code 1). Detached, each server gets one SIGTERM, from us.
    detached: true,
  });

  const recentOutput: string[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    createInterface({ input: child[stream], crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      recentOutput.push(line);
      if (recentOutput.length > keptLines) recentOutput.shift();
      options.output(name, line, stream);
    });
  }

  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    // "close" comes after "exit", once the output is read to the end.
    child.once("close", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      if (child.pid != null) return; // a failed kill(); "close" still follows
      done = true;
      resolve({ code: null, signal: null, error });
    });
  });

  return {
    instance: { name, url, port, dataDir, databaseUrl, pid: child.pid, exited, recentOutput },
    child,
    hasExited: () => done,
    terminate(signal) {
      if (done || child.pid == null) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

async function waitUntilReady(spawned: Spawned, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  const { instance } = spawned;
  const failure = (why: string) =>
    new TwoInstancesError(
      `Instance ${instance.name} (${instance.url}) ${why}. Its last output:\n${instance.recentOutput.map((l) => `  ${l}`).join("\n")}`,
    );
  let exitStatus: ExitStatus | undefined;
  // Ends a pending probe as soon as the process exits or the caller gives up.
  const gone = new AbortController();
  void instance.exited.then((status) => {
    exitStatus = status;
    gone.abort();
  });
  const cancelled = signal ? AbortSignal.any([gone.signal, signal]) : gone.signal;
  let lastProblem = "no answer yet";
  while (true) {
    if (signal?.aborted) throw signal.reason;
    if (exitStatus != null) {
      const how = exitStatus.error
        ? `could not be started: ${exitStatus.error.message}`
        : `exited with ${exitStatus.code ?? exitStatus.signal} before it was ready`;
      throw failure(how);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw failure(`was not ready in time (${lastProblem})`);
    try {
      const response = await fetch(`${instance.url}/readyz`, {
        signal: AbortSignal.any([cancelled, AbortSignal.timeout(Math.min(2000, remaining))]),
      });
      await response.body?.cancel();
      if (response.status === 200) return;
      lastProblem = `/readyz answered ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(200, undefined, { signal: cancelled }).catch(() => {});
  }
}

async function stopInstance(spawned: Spawned, timeoutMs: number): Promise<void> {
  if (spawned.hasExited()) return;
  spawned.terminate("SIGTERM");
  const timer = sleep(timeoutMs, "timeout" as const);
  if ((await Promise.race([spawned.instance.exited, timer])) === "timeout") {
    spawned.terminate("SIGKILL");
    await spawned.instance.exited;
  }
}

/** Creates each database on the server at `adminUrl` unless it exists. */
async function createDatabases(adminUrl: string, databases: readonly string[]): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    for (const database of databases) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(database)) {
        throw new TwoInstancesError(`Not a plain database name: ${JSON.stringify(database)}.`);
      }
      const rows = await sql`select 1 from pg_database where datname = ${database}`;
      if (rows.length > 0) continue;
      try {
        await sql.unsafe(`create database "${database}"`);
      } catch (error) {
        // Another launcher created it in between.
        if ((error as { code?: string }).code !== "42P04") throw error;
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The same PostgreSQL URL naming another database. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function writePrefixed(name: InstanceName, line: string, stream: "stdout" | "stderr"): void {
  process[stream].write(`[${name}] ${line}\n`);
}

function portFromEnv(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (text == null || text === "") return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`${variable}: expected a port number from 1 to 65535, not ${JSON.stringify(text)}\n`);
    process.exit(78); // EX_CONFIG, as the server uses
  }
  return port;
}

/** The command line: start, print the URLs, stop on a signal or when either server dies. */
async function main(): Promise<void> {
  const say = (text: string) => process.stdout.write(`[two-instances] ${text}\n`);
  const ports = { a: portFromEnv("TWO_INSTANCES_PORT_A", 3001), b: portFromEnv("TWO_INSTANCES_PORT_B", 3002) };
  const databaseUrl = process.env.TWO_INSTANCES_DATABASE_URL || undefined;
  const starting = new AbortController();
  let running: TwoInstances | undefined;
  let stopping: Promise<void> | undefined;
  let signalled = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      say(`${signal} again: killing both servers.`);
      for (const instance of running ? [running.a, running.b] : []) {
        if (instance.pid != null) {
          try {
            process.kill(instance.pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      }
      process.exit(1);
    }
    signalled = true;
    if (running == null) {
      say(`${signal} received while starting: stopping.`);
      starting.abort(new TwoInstancesError(`Interrupted by ${signal}.`));
      return;
    }
    say(`${signal} received: stopping both servers (again to kill them).`);
    stopping = running.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  say(
    `Starting two instances on ports ${ports.a} and ${ports.b}, ${
      databaseUrl ? "on PostgreSQL" : "on embedded databases"
    }...`,
  );
  try {
    running = await startTwoInstances({
      ports,
      databaseUrl,
      dataDir: process.env.TWO_INSTANCES_DATA_DIR || undefined,
      signal: starting.signal,
    });
  } catch (error) {
    process.stderr.write(`[two-instances] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const { a, b } = running;
  say("Both instances are ready:");
  for (const instance of [a, b]) {
    const database = instance.databaseUrl
      ? `database ${new URL(instance.databaseUrl).pathname.slice(1)}, data folder ${instance.dataDir}`
      : `embedded database in ${instance.dataDir}`;
    say(`  ${instance.name}: ${instance.url}   (${database})`);
  }
  say("Press Ctrl-C to stop both.");

  const first = await Promise.race([a, b].map((instance) => instance.exited.then((status) => ({ instance, status }))));
  if (stopping == null) {
    const { instance, status } = first;
    process.stderr.write(
      `[two-instances] Instance ${instance.name} exited unexpectedly with ${status.code ?? status.signal}: stopping the other.\n`,
    );
    await running.stop();
    process.exit(1);
  }
  await stopping;
  const statuses = await Promise.all([a.exited, b.exited]);
  const clean = statuses.every((status) => status.code === 0);
  say(clean ? "Both instances stopped cleanly." : "An instance did not stop cleanly.");
  process.exit(clean ? 0 : 1);
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (script == null) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) await main();
