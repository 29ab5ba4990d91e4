/**
 * An unreachable PostgreSQL, at the driver: queries fail fast and are recognised as an outage.
 * No cluster is needed: a port nobody listens on refuses like a stopped server, and a socket
 * that accepts and never answers stands in for a host that has gone silent.
 */
import { createServer, type Server, type Socket } from "node:net";
import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, ping } from "../../../src/db/client.ts";
import { isDatabaseUnavailable } from "../../../src/db/errors.ts";
import { createTestDatabase } from "../../helpers/db.ts";
import { freePort } from "../../helpers/server.ts";

/** How long `promise` takes to settle, and with what error. */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error("expected a failure");
}

/** An error shaped like postgres.js's: a plain Error with a `code`. */
const driverError = (code: string, name = "Error") => Object.assign(new Error(`write ${code}`), { code, name });

describe("recognising an unreachable database", () => {
  it("knows the driver's connection failures, bare or wrapped by drizzle", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECT_TIMEOUT"]) {
      expect(isDatabaseUnavailable(driverError(code)), code).toBe(true);
      expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], driverError(code))), code).toBe(true);
    }
    // admin_shutdown, crash_shutdown, cannot_connect_now, and class 08 connection exceptions.
    for (const state of ["57P01", "57P02", "57P03", "08000", "08003", "08006", "08P01"]) {
      const error = driverError(state, "PostgresError");
      expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], error)), state).toBe(true);
    }
  });

  it("does not take a failed statement, or another server's trouble, for an outage", () => {
    // unique_violation, division_by_zero, query_canceled (a statement timeout).
    for (const state of ["23505", "22012", "57014"]) {
      const error = driverError(state, "PostgresError");
      expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], error)), state).toBe(false);
    }
    // fetch() to a remote server that refused: the same code, one wrapper further down.
    const fetchFailed = new TypeError("fetch failed", { cause: driverError("ECONNREFUSED") });
    expect(isDatabaseUnavailable(fetchFailed)).toBe(false);
    expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
  });

  it("does not take a real statement error for an outage, on either driver", async () => {
    const database = await createTestDatabase();
    try {
      const { error } = await failure(database.db.execute(sql`select 1/0`));
      expect(isDatabaseUnavailable(error)).toBe(false);
    } finally {
      await database.close();
    }
  });
});

describe("a PostgreSQL that cannot be reached", () => {
  let silent: Server;
  let silentPort: number;
  const held: Socket[] = [];

  beforeAll(async () => {
    // Accepts connections and never says a word, like a host that went away mid-route.
    silent = createServer((socket) => {
      held.push(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("refuses at once, and still at once after many failed attempts in a row", async () => {
    const port = await freePort();
    // One connection, so every attempt waits out the backoff of the one before (a pool's fresh
    // connections would try at once).
    const database = await openDatabase({ url: `postgres://fedchat@127.0.0.1:${port}/fedchat`, poolSize: 1 });
    try {
      // postgres.js's own backoff waits 3^n/100 s before the n-th attempt (up to 20 s): by the
      // seventh, a query waited seconds before it was even tried.
      const times: number[] = [];
      for (let attempt = 0; attempt < 9; attempt++) {
        const { error, ms } = await failure(ping(database.db));
        expect(isDatabaseUnavailable(error), String(error)).toBe(true);
        times.push(Math.round(ms));
      }
      expect(Math.max(...times), `each attempt, ms: ${times.join(", ")}`).toBeLessThan(2000);
    } finally {
      await database.close();
    }
    // Room for the driver's own backoff to show itself (about 40 s in all) rather than time out.
  }, 60_000);

  it("gives up on a connection that does not answer within the connect timeout (2 s by default)", async () => {
    const database = await openDatabase({ url: `postgres://fedchat@127.0.0.1:${silentPort}/fedchat` });
    try {
      const { error, ms } = await failure(ping(database.db));
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
      // The goal is 2 s; the bound leaves room for a busy machine, and is well under the 10 s of before.
      expect(ms).toBeGreaterThan(1500);
      expect(ms).toBeLessThan(5000);
    } finally {
      await database.close();
    }
  });

  it("takes the connect timeout from the caller", async () => {
    const database = await openDatabase({
      url: `postgres://fedchat@127.0.0.1:${silentPort}/fedchat`,
      connectTimeoutMs: 300,
    });
    try {
      const { error, ms } = await failure(ping(database.db));
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
      expect(ms).toBeLessThan(1500);
    } finally {
      await database.close();
    }
  });
});
