import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { logger } from "../log.ts";
import { type DatabaseHandle, type DatabaseLike, queryRows } from "./client.ts";

/** The folder drizzle-kit writes migrations to. */
export const migrationsFolder = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Arbitrary but fixed: every process takes this advisory lock before migrating. */
const migrationLockKey = 0x6663_6874;

const log = logger("db", "migrate");

/**
 * Applies every pending migration. Several processes starting at once on one PostgreSQL take
 * turns through an advisory lock, so each migration runs exactly once.
 */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  const started = Date.now();
  await handle.withAdvisoryLock(migrationLockKey, async () => {
    if (handle.driver === "pglite") {
      await migratePglite(handle.db as unknown as PgliteDatabase, { migrationsFolder });
    } else {
      await migratePostgres(handle.db as unknown as PostgresJsDatabase, { migrationsFolder });
    }
  });
  log.debug("Migrations checked in {ms} ms.", { ms: Date.now() - started });
}

/** What the migrations folder holds versus what the database has applied. */
export interface MigrationStatus {
  readonly expected: number;
  readonly applied: number;
  readonly upToDate: boolean;
}

let cachedFolder: { count: number; lastMillis: number } | undefined;

function folderMigrations() {
  if (cachedFolder == null) {
    const files = readMigrationFiles({ migrationsFolder });
    cachedFolder = { count: files.length, lastMillis: Math.max(0, ...files.map((f) => f.folderMillis)) };
  }
  return cachedFolder;
}

/** Compares the applied migrations with the migrations folder (for `/readyz`). */
export async function migrationStatus(db: DatabaseLike): Promise<MigrationStatus> {
  const folder = folderMigrations();
  let rows: { applied: number; last: string | null }[];
  try {
    rows = await queryRows(
      db,
      sql`select count(*)::int as applied, max(created_at)::text as last from drizzle.__drizzle_migrations`,
    );
  } catch {
    return { expected: folder.count, applied: 0, upToDate: false };
  }
  const applied = Number(rows[0]?.applied ?? 0);
  const last = Number(rows[0]?.last ?? 0);
  return { expected: folder.count, applied, upToDate: last >= folder.lastMillis };
}
