import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { type SQL, sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { defaultDatabaseConnectTimeoutMs } from "../config.ts";
import { logger } from "../log.ts";
import * as schema from "./schema.ts";

export type Schema = typeof schema;

/** A drizzle database on either driver. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** A database or a transaction on it: domain functions take this, so callers can pass either. */
export type DatabaseLike = Database | PgTransaction<PgQueryResultHKT, Schema>;

/** An open database: the drizzle handle plus what differs between the two drivers. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: "pglite" | "postgres";
  /**
   * Subscribes to a PostgreSQL notification channel (LISTEN). Notifications from every
   * process on the same database arrive here. A notification sent while the listening
   * connection is down (a database restart, a network cut) is lost: `onListen` runs each time
   * the LISTEN is in place, first and after every reconnection, so the caller can catch up on
   * what it may have missed. PGlite never reconnects: it runs once.
   * @param onListen Called once the LISTEN is (again) in place; must not throw.
   * @returns A function that unsubscribes.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  /** Runs `fn` while holding a session-level advisory lock, for start-up work such as migrations. */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** Closes every connection. */
  close(): Promise<void>;
}

const log = logger("db");

/**
 * Runs a raw SQL statement and returns its rows, whichever driver is underneath
 * (postgres.js answers with an array, PGlite with `{ rows }`).
 */
export async function queryRows<T extends Record<string, unknown>>(db: DatabaseLike, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * A statement built once per database (or transaction) and reused: drizzle's query building is
 * not free, and a statement built with `.prepare(name)` is a named prepared statement on each
 * postgres.js connection, so after its first use a call is one Bind/Execute round trip with no
 * parsing or planning (an unnamed one with parameters costs two: postgres.js describes it
 * first). `build` runs on the first call for each database.
 */
export function builtOnce<T>(build: (db: DatabaseLike) => T): (db: DatabaseLike) => T {
  const built = new WeakMap<DatabaseLike, T>();
  return (db) => {
    let statement = built.get(db);
    if (statement === undefined) {
      statement = build(db);
      built.set(db, statement);
    }
    return statement;
  };
}

/**
 * Opens the database: postgres.js when a URL is given, else PGlite stored in `dataDir`
 * (created on first use, which takes about ten seconds while it initialises a cluster).
 * @param options `url` for PostgreSQL; `dataDir` for the embedded database, or `memory`.
 */
export async function openDatabase(options: {
  url?: string | undefined;
  dataDir?: string;
  memory?: boolean;
  poolSize?: number;
  /** How long opening a PostgreSQL connection may take before it counts as failed. */
  connectTimeoutMs?: number;
  pglite?: PGlite;
}): Promise<DatabaseHandle> {
  if (options.url) {
    return openPostgres(
      options.url,
      options.poolSize ?? 10,
      options.connectTimeoutMs ?? defaultDatabaseConnectTimeoutMs,
    );
  }
  return openPglite(options);
}

/**
 * Seconds postgres.js waits before reconnecting after `retries` failed attempts in a row. Its
 * own backoff grows to 20 s, and a query that needs a connection waits that long before it is
 * even tried: during an outage requests hung for seconds before failing, and after one the
 * pool and the LISTEN connection came back up to 20 s late. Capped at half a second (with
 * jitter), a query fails within about the connect timeout, and the database is found again
 * within half a second of its return; the cost is a few refused connection attempts a second
 * per pooled connection while it is down, and only while something asks for one.
 */
function reconnectDelay(retries: number): number {
  return Math.min(3 ** retries / 100, 0.5) * (0.5 + Math.random() / 2);
}

function openPostgres(url: string, poolSize: number, connectTimeoutMs: number): DatabaseHandle {
  const connection = {
    onnotice: () => {},
    // Short, so an unreachable database is noticed in seconds. It covers opening the socket,
    // TLS and authentication only, never a query, so slow statements are unaffected.
    connect_timeout: connectTimeoutMs / 1000,
    backoff: reconnectDelay,
  };
  const client = postgres(url, {
    ...connection,
    max: poolSize,
    idle_timeout: 60,
    connection: { application_name: "fedchat" },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    db,
    driver: "postgres",
    async listen(channel, onNotify, onListen) {
      // postgres.js keeps one connection for every LISTEN and, when it drops, reconnects and
      // listens again by itself, calling `onlisten` each time it has.
      const { unlisten } = await client.listen(channel, (payload) => onNotify(payload), onListen);
      return unlisten;
    },
    async withAdvisoryLock(key, fn) {
      // A connection of its own: holding one of the pool's would starve a pool of one.
      const locker = postgres(url, { ...connection, max: 1 });
      try {
        await locker`select pg_advisory_lock(${key})`;
        return await fn();
      } finally {
        // Ending the session releases the lock too, even if the unlock is never sent.
        await locker.end({ timeout: 5 });
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/** The embedded database's data folder is open in another process (or already in this one). */
export class DataDirInUseError extends Error {}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data folder's lock: `pglite.lock` holds the pid of the one process that has the
 * embedded database open (two would corrupt it). A lock whose process is gone is taken over.
 * @returns Releases the lock.
 * @throws {DataDirInUseError} while the process in the lock runs.
 */
function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, "pglite.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => {
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {}
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && running(holder)) {
      throw new DataDirInUseError(
        `The embedded database in ${dataDir} is open in process ${holder}: stop that process first ` +
          `(use PostgreSQL, DATABASE_URL, to run several processes). If no such process runs, delete ${path}.`,
      );
    }
    // Left by a process that ended without closing: take it over.
    unlinkSync(path);
  }
  throw new DataDirInUseError(`The lock ${path} keeps changing: another process is opening the database.`);
}

async function openPglite(options: { dataDir?: string; memory?: boolean; pglite?: PGlite }): Promise<DatabaseHandle> {
  let pg = options.pglite;
  let unlock = () => {};
  if (pg == null) {
    if (options.memory || options.dataDir == null) {
      pg = new PGlite();
    } else {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      unlock = lockDataDir(options.dataDir);
      const dir = join(options.dataDir, "pglite");
      const fresh = !existsSync(join(dir, "PG_VERSION"));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const started = Date.now();
      let timer: ReturnType<typeof setInterval> | undefined;
      if (fresh) {
        log.info("Creating the embedded database in {dir}; the first start takes about 10 seconds.", { dir });
        timer = setInterval(() => {
          log.info("Still initialising the embedded database ({seconds} s)…", {
            seconds: Math.round((Date.now() - started) / 1000),
          });
        }, 2000);
        timer.unref?.();
      }
      try {
        pg = new PGlite(dir);
        await pg.waitReady;
      } catch (error) {
        unlock();
        throw error;
      } finally {
        if (timer) clearInterval(timer);
      }
      if (fresh) log.info("Embedded database ready in {ms} ms.", { ms: Date.now() - started });
    }
    await pg.waitReady;
  }
  const client = pg;
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: "pglite",
    async listen(channel, onNotify, onListen) {
      const unlisten = await client.listen(channel, onNotify);
      // One connection for the life of the process: in place once, and for good.
      onListen?.();
      return unlisten;
    },
    // PGlite is one connection in one process: nothing else can race us.
    async withAdvisoryLock(_key, fn) {
      return await fn();
    },
    async close() {
      if (!client.closed) await client.close();
      unlock();
    },
  };
}

/** Checks that the database answers a trivial query. */
/**
 * The database's client connections by state (`active`, `idle`, `idle in transaction`…), from
 * every process connected to it: the use of the pools. PGlite has one connection and none to
 * report.
 */
export async function connectionStates(handle: DatabaseHandle): Promise<{ state: string; count: number }[]> {
  if (handle.driver !== "postgres") return [];
  const rows = await queryRows<{ state: string | null; count: number }>(
    handle.db,
    sql`select state, count(*)::int as count from pg_stat_activity
         where datname = current_database() and backend_type = 'client backend'
         group by state`,
  );
  return rows.map((r) => ({ state: r.state ?? "unknown", count: Number(r.count) }));
}

export async function ping(db: DatabaseLike): Promise<void> {
  await db.execute(sql`select 1`);
}
