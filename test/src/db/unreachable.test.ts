/**
 * An unreachable PostgreSQL, at the driver: its failures are recognised as an outage, and a
 * failed statement is not.
 */
import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../../src/db/errors.ts";
import { createTestDatabase } from "../../helpers/db.ts";

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
