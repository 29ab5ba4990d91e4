import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { inject } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../src/db/client.ts";
import { withDatabase } from "./global-setup.ts";

/** Which database the DB tests run on: PostgreSQL when TEST_DATABASE_URL is set, else PGlite. */
export const testDatabaseKind: "postgres" | "pglite" = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

/** A fresh, migrated database for one test file; `close()` also drops it. */
export interface TestDatabase extends DatabaseHandle {
  /** On PostgreSQL, the URL of this database (for child processes); undefined on PGlite. */
  readonly url: string | undefined;
}

/** A fresh in-memory PGlite loaded from the migrated template. */
export async function createPgliteTestDatabase(): Promise<TestDatabase> {
  const dump = readFileSync(inject("pgliteTemplate"));
  const pg = new PGlite({ loadDataDir: new Blob([dump]) });
  const handle = await openDatabase({ pglite: pg });
  return Object.assign(handle, { url: undefined });
}

/**
 * A fresh copy of the migrated template on the database this run targets. On PostgreSQL,
 * `CREATE DATABASE … TEMPLATE` gives each test file its own database, dropped on close.
 */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return createPgliteTestDatabase();
  const name = `fedchat_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${inject("postgresTemplate")}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(base, name);
  const handle = await openDatabase({ url, poolSize: options.poolSize ?? 5 });
  return {
    ...handle,
    url,
    async close() {
      await handle.close();
      const dropper = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
